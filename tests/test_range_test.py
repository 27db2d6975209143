"""The range test: true per-batch losses, the stop rule, exact restore, the lesson's per-epoch sweep."""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf

matplotlib.use("Agg")

from course_utils import range_test  # noqa: E402
from course_utils._sweep_graph import stop_warmup  # noqa: E402
from course_utils.range_test import lr_range_test  # noqa: E402
from course_utils.schedules import ExponentialSweep, geometric_rates, sweep_rates, sweep_schedule  # noqa: E402
from course_utils.suggest import smooth_losses, suggest_lr, usable_range  # noqa: E402

from support.keras_models import WINDOW, assert_same_state, small_data, small_model, state_of  # noqa: E402
from support.sweeps import result_of  # noqa: E402

# --- per batch: what is recorded ------------------------------------------------------------------


def test_per_batch_losses_are_each_batchs_own_loss():
    """Replay the sweep eagerly on a copy: same batches, same rates, loss computed by hand."""
    model = small_model(l2=0.01)
    data = small_data()
    initial = [w.numpy() for w in model.weights]
    result = lr_range_test(
        model, data, start_lr=1e-4, end_lr=1e-2, num_rates=11, diverge_factor=None, restore=False
    )
    assert len(result.losses) == 11  # 11 steps over 4 batches: the data set is repeated

    replica = small_model(l2=0.01)
    replica.set_weights(initial)
    optimizer = keras.optimizers.SGD(1.0, momentum=0.9)
    mse = keras.losses.MeanSquaredError()
    expected = []
    for (x, y), rate in zip(data.repeat().take(11), result.lrs, strict=True):
        with tf.GradientTape() as tape:
            prediction = replica(x, training=True)
            loss = mse(y, prediction) + tf.add_n(replica.losses)
        expected.append(float(loss))
        optimizer.learning_rate = float(rate)
        grads = tape.gradient(loss, replica.trainable_variables)
        optimizer.apply_gradients(zip(grads, replica.trainable_variables, strict=True))
    np.testing.assert_allclose(result.losses, expected, rtol=1e-5)
    # restore=False leaves the swept weights: they match the replay's, so every rate was applied
    for swept, replayed in zip(model.get_weights(), replica.get_weights(), strict=True):
        np.testing.assert_allclose(swept, replayed, rtol=1e-5, atol=1e-6)


def test_per_batch_rates_follow_exponential_sweep_and_smoothing_matches_smooth_losses():
    model = small_model()
    result = lr_range_test(model, small_data(), start_lr=1e-5, end_lr=1e-3, num_rates=20, diverge_factor=None)
    np.testing.assert_array_equal(result.lrs, ExponentialSweep(1e-5, 1e-3, 20).rates())
    np.testing.assert_allclose(result.smoothed_losses, smooth_losses(result.losses, beta=0.98))
    assert result.per == "batch" and result.trials == "continuous"
    assert result.stop_reason == "completed" and not result.stopped_early
    assert result.elapsed > 0


def test_divergence_stops_early_at_the_first_step_past_the_factor():
    model = small_model()
    result = lr_range_test(model, small_data(), start_lr=1e-4, end_lr=1e3, num_rates=400, beta=0.9)
    assert result.stopped_early
    assert len(result.losses) < 400
    smoothed = smooth_losses(result.losses, beta=0.9)
    warmup = stop_warmup(0.9)
    assert warmup == 10, "one window of a moving average with weight 0.9"
    finite_before = smoothed[:-1]
    assert np.all(np.isfinite(finite_before))
    running_best = np.minimum.accumulate(finite_before[warmup - 1 :])
    assert np.all(finite_before[warmup - 1 :] <= 4.0 * running_best), (
        "the sweep ran past a step that met the stop rule"
    )
    last = result.losses[-1]
    if result.stop_reason == "diverged":
        assert smoothed[-1] > 4.0 * running_best[-1]
    else:
        assert result.stop_reason == "non-finite loss" and not np.isfinite(last)


def test_one_easy_first_batch_does_not_stop_a_sweep_at_rates_too_small_to_move():
    """The stop rule's best counts after one window of the average: a first batch far easier than
    the rest (a small or unshuffled data set) used to set a best that ordinary batches exceeded
    fourfold, ending the sweep after two steps at 1e-9 (two curves of the suggestion benchmark)."""
    features = np.ones((64, 5), "float32")
    labels = np.full(64, 10.0, "float32")
    labels[:16] = 0.5  # the first batch of 16: the untrained model's loss there is tiny
    data = tf.data.Dataset.from_tensor_slices((features, labels)).batch(16)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(1e-9), loss="mse")
    result = lr_range_test(model, data, start_lr=1e-9, end_lr=1e-8, num_rates=120)
    first, second = result.losses[:2]
    assert second > 4.0 * first, "the data no longer make the first batch the easy one"
    assert result.stop_reason == "completed" and len(result.losses) == 120, (
        f"the sweep stopped after {len(result.losses)} of 120 steps ({result.stop_reason}) at rates "
        "that cannot make the loss diverge"
    )
    late = lr_range_test(model, data, start_lr=1e-3, end_lr=10.0, num_rates=400)
    assert late.stopped_early, "after the warm-up the stop rule still ends a diverging sweep"


def test_diverge_factor_none_runs_every_step_unless_the_loss_is_not_finite():
    model = small_model()
    result = lr_range_test(
        model, small_data(), start_lr=1e-4, end_lr=1e-1, num_rates=40, diverge_factor=None, beta=0.5
    )
    assert len(result.losses) == 40
    stricter = lr_range_test(
        model, small_data(), start_lr=1e-4, end_lr=1e-1, num_rates=40, diverge_factor=1.0001, beta=0.5
    )
    assert len(stricter.losses) < 40


# --- per batch: restore ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda: keras.optimizers.SGD(0.01, momentum=0.9),
        lambda: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
        lambda: keras.optimizers.Adam(0.001),
    ],
    ids=["sgd-momentum", "sgd-nesterov", "adam"],
)
@pytest.mark.parametrize("per", ["batch", "epoch"])
def test_restore_puts_back_weights_and_optimizer_state_bit_for_bit(make_optimizer, per):
    model = small_model(make_optimizer())
    model.fit(small_data(), epochs=2, verbose=0)  # momentum/moments and the step count are non-zero
    before = state_of(model)
    assert int(model.optimizer.iterations) == 8
    lr_range_test(model, small_data(), per=per, start_lr=1e-4, end_lr=1.0, num_rates=12)
    assert_same_state(before, state_of(model))


def test_without_restore_the_sweep_leaves_its_traces():
    model = small_model()
    model.fit(small_data(), epochs=1, verbose=0)
    before = state_of(model)
    lr_range_test(model, small_data(), start_lr=1e-4, end_lr=1e-2, num_rates=6, restore=False)
    after = state_of(model)
    assert not all(np.array_equal(a, b) for a, b in zip(before[0], after[0], strict=True))
    assert int(model.optimizer.iterations) == 4 + 6


def test_restore_after_the_sweep_built_the_optimizer_trains_like_a_fresh_model():
    """An optimizer that never ran gets zero slots back: training afterwards matches a twin."""
    swept, twin = small_model(seed=3), small_model(seed=3)
    assert not swept.optimizer.built
    lr_range_test(swept, small_data(), start_lr=1e-4, end_lr=1.0, num_rates=15)
    assert swept.optimizer.built
    assert int(swept.optimizer.iterations) == 0
    np.testing.assert_allclose(float(swept.optimizer.learning_rate), 0.01)
    for variable in swept.optimizer.variables[2:]:  # slots after iterations and learning rate
        assert not np.any(variable.numpy())
    swept.fit(small_data(), epochs=2, verbose=0)
    twin.fit(small_data(), epochs=2, verbose=0)
    for a, b in zip(swept.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# --- per batch: progress and other models ---------------------------------------------------------


def test_progress_bar_in_chunks_records_the_same_sweep(capsys):
    """The progress bar splits the graph loop into chunks; the recorded curve must not change."""
    model = small_model()
    plain = lr_range_test(model, small_data(), start_lr=1e-4, end_lr=1e-1, num_rates=50, diverge_factor=None)
    shown = lr_range_test(
        model, small_data(), start_lr=1e-4, end_lr=1e-1, num_rates=50, diverge_factor=None, progress=True
    )
    np.testing.assert_allclose(shown.losses, plain.losses, rtol=1e-6)
    assert "50/50" in capsys.readouterr().err


def test_recurrent_model_per_batch():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(WINDOW,)),
            keras.layers.Reshape((WINDOW, 1)),
            keras.layers.SimpleRNN(4),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    model.fit(small_data(), epochs=1, verbose=0)
    before = state_of(model)
    result = lr_range_test(model, small_data(), start_lr=1e-4, end_lr=1e-1, num_rates=10)
    assert np.all(np.isfinite(result.losses))
    assert_same_state(before, state_of(model))


# --- per epoch: the lesson ------------------------------------------------------------------------


def test_per_epoch_defaults_are_the_lessons_sweep():
    """100 epochs at 1e-8 * 10**(epoch/20); the losses are what the lesson's fit reports."""
    data = small_data(num_examples=16, batch_size=16)
    model = small_model(seed=5)
    initial = model.get_weights()
    result = lr_range_test(model, data, per="epoch")
    np.testing.assert_array_equal(result.lrs, sweep_rates())
    assert len(result.losses) == 100 and result.per == "epoch"

    lesson = small_model(seed=5)
    lesson.set_weights(initial)
    history = lesson.fit(
        data, epochs=100, verbose=0, callbacks=[keras.callbacks.LearningRateScheduler(sweep_schedule())]
    )
    np.testing.assert_allclose(result.losses, history.history["loss"], rtol=1e-6)


def test_per_epoch_with_a_range_is_geometric():
    model = small_model()
    result = lr_range_test(model, small_data(), per="epoch", start_lr=1e-4, end_lr=1e-1, num_rates=4)
    np.testing.assert_allclose(result.lrs, geometric_rates(1e-4, 1e-1, 4))
    assert len(result.losses) == 4
    only_steps = lr_range_test(model, small_data(), per="epoch", num_rates=3)
    np.testing.assert_allclose(only_steps.lrs, geometric_rates(1e-8, range_test.LESSON_END_LR, 3))


# --- the result object ----------------------------------------------------------------------------


def make_result():
    lrs = np.geomspace(1e-6, 1e-1, 60)
    x = np.log10(lrs)
    losses = 10 - 4 * np.tanh(x + 3.5) + np.where(x > -2, (x + 2) * 30, 0)
    return result_of(lrs, losses, per="batch", elapsed=0.25, num_rates=80, stop_reason="diverged")


def test_result_delegates_to_suggest_and_plots():
    result = make_result()
    for method in ("valley", "steepest", "minimum"):
        assert result.suggest(method) == suggest_lr(result.lrs, result.losses, method=method)
    assert result.suggest("minimum", divisor=1) == suggest_lr(result.lrs, result.losses, "minimum", divisor=1)
    assert result.usable_range() == usable_range(result.lrs, result.losses)
    ax = result.plot(methods=("valley", "minimum"))
    assert ax.get_xscale() == "log"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert any(label.startswith("valley") for label in labels)
    assert any(label.startswith("minimum") for label in labels)
    text = repr(result)
    assert "per='batch'" in text and "60 rates" in text and "diverged" in text
    assert "valley" in result.summary() and result.stopped_early


def test_without_warmup_reads_the_curve_from_one_decade_up():
    """The lesson's sweep without 1e-8..1e-7: a new result, the original untouched."""
    lrs = sweep_rates()
    x = np.log10(lrs)
    losses = 40 + 60 / (1 + np.exp(3 * (x + 5.5))) + 5000 * 10 ** (-3 * (x + 8))
    result = result_of(lrs, losses, per="epoch", elapsed=1.0, beta=0.98)
    trimmed = result.without_warmup()
    assert trimmed is not result and len(result.lrs) == 100
    np.testing.assert_allclose(trimmed.lrs, lrs[20:])
    np.testing.assert_array_equal(trimmed.losses, losses[20:])
    np.testing.assert_allclose(trimmed.smoothed_losses, smooth_losses(losses[20:]))  # smoothed afresh
    assert trimmed.per == "epoch" and trimmed.elapsed == 1.0
    assert trimmed.usable_range() == usable_range(lrs[20:], losses[20:])
    assert trimmed.usable_range()[0] >= 1e-7 > result.usable_range()[0]  # the warm-up no longer counts
    np.testing.assert_allclose(result.without_warmup(2).lrs, lrs[40:])
    assert len(result.without_warmup(0).lrs) == 100
    with pytest.raises(ValueError, match="at least 2"):
        result.without_warmup(5)


# --- independent trials ---------------------------------------------------------------------------


def test_independent_trials_share_the_result_type():
    model = small_model()
    before = state_of(model)
    result = lr_range_test(
        model, small_data(), trials="independent", start_lr=1e-4, end_lr=1e-1, num_rates=4, epochs_per_trial=2
    )
    np.testing.assert_allclose(result.lrs, geometric_rates(1e-4, 1e-1, 4))
    assert result.trials == "independent" and len(result.losses) == 4
    np.testing.assert_array_equal(result.losses, np.asarray(result.trials_outcome.losses[0, 0], dtype=float))
    np.testing.assert_array_equal(result.smoothed_losses, result.losses)
    assert_same_state(before, state_of(model))


def grid_result(momentum=(0.0, 0.5, 0.9), init_seeds=range(3)):
    """Independent trials of small_model over 12 rates, on a grid of momenta and initialisations."""
    return lr_range_test(
        small_model(),
        small_data(),
        trials="independent",
        start_lr=1e-4,
        end_lr=3e-1,
        num_rates=12,
        momentum=momentum,
        init_seeds=init_seeds,
    )


def test_independent_trials_on_a_grid_read_the_models_own_momentum_and_the_median_over_seeds():
    result = grid_result()
    assert result.grid_losses.shape == (3, 3, 12)
    assert result.momentum == 0.9  # small_model's SGD momentum, one of the swept values
    median = np.median(
        np.where(np.isfinite(result.grid_losses[:, 2]), result.grid_losses[:, 2], np.inf), axis=0
    )
    np.testing.assert_allclose(result.losses, np.where(np.isfinite(median), median, np.nan))
    plain = result.at_momentum(0.0)
    assert plain.momentum == 0.0 and not np.allclose(plain.losses, result.losses, equal_nan=True)
    valleys = result.valleys()
    assert list(valleys) == [0.0, 0.5, 0.9] and valleys[0.9] == result.suggest()
    assert "3 initialisation(s) x 3 momentum value(s), curve at 0.9 (median)" in repr(result)
    assert "valley at momentum 0.5" in result.summary()
    with pytest.raises(
        ValueError, match=r"value must be one of the swept momentum values \[0.0, 0.5, 0.9\]; got 0.8"
    ):
        result.at_momentum(0.8)


def test_a_grid_plots_as_a_heat_map_and_seeds_as_a_band():
    result = grid_result()
    ax = result.plot()
    assert len(ax.collections) == 1 and ax.get_ylabel() == "momentum"  # one mesh: rate x momentum
    assert [label.get_text() for label in ax.get_yticklabels()] == ["0", "0.5", "0.9"]
    ax = result.without_warmup(1).plot()  # the grid follows the rates kept
    assert ax.collections[0].get_array().shape == (3, len(result.without_warmup(1).lrs))
    seeds_only = grid_result(momentum=None, init_seeds=[0, 1])
    ax = seeds_only.plot()
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "lowest..highest of 2 initialisations" in labels


@pytest.mark.parametrize("name", ["momentum", "init_seeds"])
def test_grid_axes_apply_to_independent_trials_only(name):
    with pytest.raises(ValueError, match=f"{name} applies to trials='independent' only"):
        lr_range_test(small_model(), small_data(), per="epoch", **{name: [0]})


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"per": "minibatch"}, ValueError, ["per", "minibatch"]),
        ({"per": 1}, TypeError, ["per", "1"]),
        ({"trials": "parallel"}, ValueError, ["trials", "parallel"]),
        ({"start_lr": 0.0}, ValueError, ["start_lr", "0.0"]),
        ({"start_lr": -1e-3}, ValueError, ["start_lr", "-0.001"]),
        ({"start_lr": "1e-3"}, TypeError, ["start_lr", "1e-3"]),
        ({"end_lr": float("nan")}, ValueError, ["end_lr", "nan"]),
        ({"start_lr": 1e-2, "end_lr": 1e-4}, ValueError, ["start_lr", "end_lr", "0.01"]),
        ({"start_lr": 1e-2, "end_lr": 1e-2}, ValueError, ["start_lr", "end_lr"]),
        ({"start_lr": 1e-1}, ValueError, ["start_lr", "end_lr", "0.1"]),  # above the default end
        ({"per": "epoch", "start_lr": 1e-2}, ValueError, ["start_lr", "end_lr"]),
        ({"num_rates": 1}, ValueError, ["num_rates", "1"]),
        ({"num_rates": 10.0}, TypeError, ["num_rates", "10.0"]),
        ({"num_steps": 1}, ValueError, ["num_steps", "1"]),  # its old name, still accepted
        ({"num_rates": 5, "num_steps": 5}, TypeError, ["num_rates", "num_steps"]),
        ({"epochs_per_trial": 0}, ValueError, ["epochs_per_trial", "0"]),
        ({"epochs_per_trial": 3}, ValueError, ["epochs_per_trial", "3", "independent"]),
        ({"beta": 1.0}, ValueError, ["beta", "1.0"]),
        ({"beta": -0.1}, ValueError, ["beta", "-0.1"]),
        ({"diverge_factor": 1.0}, ValueError, ["diverge_factor", "1.0"]),
        ({"diverge_factor": "4"}, TypeError, ["diverge_factor", "4"]),
        ({"restore": "yes"}, TypeError, ["restore", "yes"]),
        ({"progress": 1}, TypeError, ["progress", "1"]),
        ({"verbose": -1}, ValueError, ["verbose", "-1"]),
    ],
)
def test_bad_arguments_are_named(options, error, words):
    with pytest.raises(error) as caught:
        lr_range_test(small_model(), small_data(), **options)
    message = str(caught.value)
    for word in words:
        assert word in message


def test_bad_models_and_data_are_named():
    with pytest.raises(TypeError, match="keras.Model.*str"):
        lr_range_test("model", small_data())
    uncompiled = keras.Sequential([keras.Input(shape=(WINDOW,)), keras.layers.Dense(1)], name="bare")
    with pytest.raises(ValueError, match="'bare' is not compiled"):
        lr_range_test(uncompiled, small_data())
    with pytest.raises(TypeError, match="tf.data.Dataset.*ndarray"):
        lr_range_test(small_model(), np.zeros((4, WINDOW)))
    features_only = tf.data.Dataset.from_tensor_slices(np.zeros((4, WINDOW), "float32")).batch(2)
    with pytest.raises(TypeError, match=r"\(inputs, targets\)"):
        lr_range_test(small_model(), features_only)
    with pytest.raises(ValueError, match="no batches"):
        lr_range_test(small_model(), small_data().take(0))
    with pytest.raises(ValueError, match="no batches"):  # a length TensorFlow cannot tell beforehand
        lr_range_test(small_model(), small_data().filter(lambda x, y: False))
    with pytest.raises(ValueError, match=r"features have shape \(None, 7\).*window size"):
        lr_range_test(small_model(), small_data().map(lambda x, y: (tf.concat([x, x[:, :2]], 1), y)))


def test_other_backends_are_refused(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="TensorFlow backend.*jax"):
        lr_range_test(small_model(), small_data())
