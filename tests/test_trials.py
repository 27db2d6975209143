"""Independent trials: all rates at once on a trial axis, checked against separately trained copies.

The references are fresh copies of the model (same initial weights) trained with ``fit`` on an
unshuffled data set, so they see the same batches in the same order as the trials.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils import _trial_axis
from course_utils.data import synthetic_series, train_valid_split, windowed_dataset
from course_utils.models import build_dense_model, build_recurrent_model, fresh_copy
from course_utils.trials import TrialsOutcome, run_independent_trials

pytestmark = pytest.mark.xdist_group("trials")

RTOL = 1e-4
ATOL = 1e-6  # weights are of order 0.1-1: this only matters for weights that cross zero


@pytest.fixture(scope="module")
def course_data():
    """The course's training windows in a fixed order (31 batches of up to 32)."""
    split = train_valid_split(*synthetic_series())
    return windowed_dataset(split.train, shuffle_buffer=0)


@pytest.fixture(scope="module")
def course_validation():
    """A few batches of the course's validation windows, in a fixed order."""
    split = train_valid_split(*synthetic_series())
    return windowed_dataset(split.valid, shuffle_buffer=0).take(3)


def compiled(builder, optimizer, loss="mse", seed=3):
    model = builder(seed=seed)
    model.compile(optimizer=optimizer, loss=loss)
    return model


def reference(model, dataset, lr, epochs):
    """A fresh copy from ``model``'s weights, trained with fit at ``lr``: the per-epoch losses and weights."""
    copy = fresh_copy(model, weights=model.get_weights())
    copy.optimizer.learning_rate = lr
    history = copy.fit(dataset, epochs=epochs, verbose=0, shuffle=False)
    return np.array(history.history["loss"]), copy.get_weights()


def assert_matches_references(model, dataset, lrs, epochs=1):
    outcome = run_independent_trials(model, dataset, lrs, epochs_per_trial=epochs)
    assert outcome.method == "vectorized", outcome.reason
    assert outcome.losses.shape == (1, 1, len(lrs)) and outcome.epoch_losses.shape == (epochs, 1, 1, len(lrs))
    assert not outcome.diverged.any()
    for trial, lr in enumerate(lrs):
        losses, weights = reference(model, dataset, lr, epochs)
        assert np.all(np.isfinite(losses)), f"reference at lr={lr} diverged: pick a smaller rate"
        np.testing.assert_allclose(
            outcome.epoch_losses[:, 0, 0, trial], losses, rtol=RTOL, err_msg=f"lr={lr}"
        )
        for got, expected in zip(outcome.final_weights[0][0][trial], weights, strict=True):
            np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg=f"lr={lr}")
    return outcome


# --- exactness against separately trained copies ---------------------------------------------


def test_dense_sgd_momentum_matches_fresh_copies(course_data):
    model = compiled(build_dense_model, keras.optimizers.SGD(0.1, momentum=0.9))
    assert_matches_references(model, course_data, [1e-7, 2e-6, 1e-5])


def test_dense_adam_matches_fresh_copies_over_two_epochs(course_data):
    model = compiled(build_dense_model, keras.optimizers.Adam(0.1))
    outcome = assert_matches_references(model, course_data, [1e-4, 3e-3, 3e-2], epochs=2)
    assert outcome.epochs_per_trial == 2
    # The trials really trained: the largest rate lowered the loss most in its second epoch.
    assert outcome.epoch_losses[1, 0, 0, 2] < outcome.epoch_losses[1, 0, 0, 0]


def test_recurrent_sgd_momentum_matches_fresh_copies(course_data):
    model = compiled(build_recurrent_model, keras.optimizers.SGD(0.1, momentum=0.9))
    # Rates below the edge of stability: past it, rounding differences (1e-7) grow like any chaos.
    assert_matches_references(model, course_data, [1e-8, 1e-7, 3e-7])


def test_recurrent_adam_matches_fresh_copies(course_data):
    model = compiled(build_recurrent_model, keras.optimizers.Adam(0.1))
    assert_matches_references(model, course_data, [1e-4, 1e-3, 1e-2])


@pytest.mark.parametrize(
    ("optimizer", "loss"),
    [
        (keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True), "huber"),
        (keras.optimizers.SGD(0.1), "mae"),
    ],
    ids=["nesterov-huber", "plain-sgd-mae"],
)
def test_other_sgd_variants_and_losses_match_fresh_copies(course_data, optimizer, loss):
    model = compiled(build_dense_model, optimizer, loss)
    assert_matches_references(model, course_data, [1e-6, 3e-5])


def test_classification_with_sparse_crossentropy_matches_fresh_copies():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(96, 6)).astype("float32")
    labels = (features[:, 0] > 0).astype("int64") + (features[:, 1] > 0.5)
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).batch(16)
    keras.utils.set_random_seed(5)
    model = keras.Sequential(
        [
            keras.Input(shape=(6,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="sparse_categorical_crossentropy")
    assert_matches_references(model, dataset, [1e-3, 3e-2], epochs=2)


# --- the grid: initial weights x momentum x rate ------------------------------------------------


def grid_reference(builder, make_optimizer, seed, momentum, lr, data, validation, epochs):
    """What a student would do for one grid cell: seed, build, compile at (lr, momentum), fit with validation."""
    keras.utils.set_random_seed(seed)
    model = builder()
    model.compile(optimizer=make_optimizer(lr, momentum), loss="mse")
    history = model.fit(data, validation_data=validation, epochs=epochs, verbose=0, shuffle=False).history
    return np.array(history["loss"]), np.array(history["val_loss"]), model.get_weights()


GRID_CASES = {
    "dense-sgd": (
        build_dense_model,
        lambda lr, m: keras.optimizers.SGD(lr, momentum=m),
        [1e-6, 2e-5],
        [0.0, 0.5, 0.9],
    ),
    "dense-adam": (
        build_dense_model,
        lambda lr, m: keras.optimizers.Adam(lr, beta_1=m),
        [1e-3, 1e-2],
        [0.5, 0.9, 0.99],
    ),
    "recurrent-sgd": (
        build_recurrent_model,
        lambda lr, m: keras.optimizers.SGD(lr, momentum=m),
        [1e-8, 1e-7],
        [0.0, 0.9],
    ),
    "recurrent-adam": (
        build_recurrent_model,
        lambda lr, m: keras.optimizers.Adam(lr, beta_1=m),
        [1e-4, 1e-3],
        [0.0, 0.9],
    ),
}


@pytest.mark.parametrize("case", list(GRID_CASES))
def test_grid_of_seeds_momenta_and_rates_matches_separately_trained_models(
    course_data, course_validation, case
):
    builder, make_optimizer, lrs, momenta = GRID_CASES[case]
    seeds = [3, 8]
    model = builder(seed=1)
    model.compile(optimizer=make_optimizer(0.1, 0.3), loss="mse")  # rate and momentum are replaced per trial
    data = course_data.take(6)
    outcome = run_independent_trials(
        model,
        data,
        lrs,
        momentum=momenta,
        init_seeds=seeds,
        epochs_per_trial=2,
        validation_data=course_validation,
    )
    assert outcome.method == "vectorized", outcome.reason
    shape = (len(seeds), len(momenta), len(lrs))
    assert outcome.losses.shape == outcome.val_losses.shape == outcome.diverged.shape == shape
    assert outcome.epoch_losses.shape == outcome.val_epoch_losses.shape == (2, *shape)
    assert list(outcome.momenta) == momenta and outcome.init_seeds == tuple(seeds)
    assert outcome.momentum_name == ("beta_1" if "adam" in case else "momentum")
    corners = {
        (0, 0, 0),
        (len(seeds) - 1, len(momenta) - 1, len(lrs) - 1),
        (1, 0, len(lrs) - 1),
        (0, len(momenta) - 1, 0),
    }
    for s, m, r in sorted(corners):
        losses, val_losses, weights = grid_reference(
            builder, make_optimizer, seeds[s], momenta[m], lrs[r], data, course_validation, 2
        )
        where = f"seed {seeds[s]}, momentum {momenta[m]}, lr {lrs[r]}"
        assert np.all(np.isfinite(losses)), f"reference diverged at {where}: pick a smaller rate"
        np.testing.assert_allclose(outcome.epoch_losses[:, s, m, r], losses, rtol=RTOL, err_msg=where)
        np.testing.assert_allclose(outcome.val_epoch_losses[:, s, m, r], val_losses, rtol=RTOL, err_msg=where)
        for got, expected in zip(outcome.final_weights[s][m][r], weights, strict=True):
            np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL, err_msg=where)


def test_init_seeds_give_the_weights_that_seeding_then_building_gives(course_data):
    model = compiled(build_dense_model, keras.optimizers.SGD(0.1, momentum=0.9), seed=0)
    outcome = run_independent_trials(model, course_data.take(1), [1e-12], init_seeds=range(3))
    assert outcome.losses.shape == (3, 1, 1) and list(outcome.momenta) == [0.9]
    for index in range(3):
        keras.utils.set_random_seed(index)
        built = build_dense_model().get_weights()
        # One step at 1e-12 moves no weight by more than a rounding: each trial started from its seed's weights.
        for got, expected in zip(outcome.final_weights[index][0][0], built, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert not np.allclose(outcome.final_weights[0][0][0][0], outcome.final_weights[1][0][0][0])


def test_the_fallback_path_gives_the_same_grid(course_data, course_validation):
    model = compiled(build_dense_model, keras.optimizers.SGD(0.1, momentum=0.9))
    data = course_data.take(4)
    arguments = {"momentum": [0.0, 0.9], "init_seeds": [5, 6], "validation_data": course_validation}
    fast = run_independent_trials(model, data, [1e-6, 1e-5], **arguments)
    slow = run_independent_trials(model, data, [1e-6, 1e-5], method="fallback", **arguments)
    assert (fast.method, slow.method) == ("vectorized", "fallback")
    np.testing.assert_allclose(fast.losses, slow.losses, rtol=RTOL)
    np.testing.assert_allclose(fast.val_losses, slow.val_losses, rtol=RTOL)


def test_a_momentum_axis_on_a_model_the_trial_axis_cannot_express(course_data):
    model = regularized_model()  # SGD(momentum=0.9) with an L2 regulariser: trained as fresh copies
    data = course_data.take(3)
    outcome = run_independent_trials(model, data, [1e-6], momentum=[0.0, 0.5])
    assert outcome.method == "fallback" and outcome.losses.shape == (1, 2, 1)
    for m, momentum in enumerate([0.0, 0.5]):
        copy = fresh_copy(model, weights=model.get_weights(), compile=False)
        copy.compile(optimizer=keras.optimizers.SGD(1e-6, momentum=momentum), loss="mse")
        loss = copy.fit(data, epochs=1, verbose=0, shuffle=False).history["loss"][-1]
        np.testing.assert_allclose(outcome.losses[0, m, 0], loss, rtol=1e-6)


def test_without_validation_data_there_is_no_validation_loss(course_data):
    model = compiled(build_dense_model, keras.optimizers.SGD(0.1, momentum=0.9))
    outcome = run_independent_trials(model, course_data.take(2), [1e-6])
    assert outcome.val_losses is None and outcome.val_epoch_losses is None
    assert "validation" not in repr(outcome)


# --- divergence, isolation, the caller's model ------------------------------------------------


def test_a_diverging_trial_leaves_the_others_untouched(course_data):
    model = compiled(build_dense_model, keras.optimizers.SGD(0.1, momentum=0.9))
    calm = run_independent_trials(model, course_data, [1e-6, 1e-5, 2e-6])
    wild = run_independent_trials(model, course_data, [1e-6, 1e-5, 10.0])
    assert wild.method == calm.method == "vectorized"
    assert list(wild.diverged[0, 0]) == [False, False, True] and not calm.diverged.any()
    assert not np.isfinite(wild.losses[0, 0, 2])
    assert all(np.isfinite(w).all() for w in wild.final_weights[0][0][2]), (
        "a diverged trial keeps its last finite weights"
    )
    for trial in (0, 1):  # the same trials, bit for bit
        assert wild.losses[0, 0, trial] == calm.losses[0, 0, trial]
        for got, expected in zip(
            wild.final_weights[0][0][trial], calm.final_weights[0][0][trial], strict=True
        ):
            np.testing.assert_array_equal(got, expected)
    alone = run_independent_trials(model, course_data, [1e-6, 1e-5])  # and as if it had never been there
    np.testing.assert_allclose(alone.losses[0, 0], wild.losses[0, 0, :2], rtol=1e-6)


def optimizer_state(model):
    return [v.numpy().copy() for v in model.weights], [v.numpy().copy() for v in model.optimizer.variables]


@pytest.mark.parametrize("method", ["vectorized", "fallback"])
def test_callers_model_and_optimizer_are_unchanged(course_data, method):
    model = compiled(build_dense_model, keras.optimizers.Adam(1e-3))
    model.fit(
        course_data.take(3), epochs=1, verbose=0, shuffle=False
    )  # non-zero optimizer state and trained weights
    before = optimizer_state(model)
    outcome = run_independent_trials(model, course_data.take(4), [1e-4, 1e-2], method=method)
    assert outcome.method == method
    after = optimizer_state(model)
    for old, new in zip(before[0] + before[1], after[0] + after[1], strict=True):
        np.testing.assert_array_equal(old, new)
    # Every trial started from the caller's current (trained) weights, not from new ones.
    first, _ = reference(model, course_data.take(4), 1e-4, 1)
    np.testing.assert_allclose(outcome.losses[0, 0, 0], first[-1], rtol=RTOL)


# --- the fallback path -------------------------------------------------------------------------


def regularized_model():
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input(shape=(20,)),
            keras.layers.Dense(4, activation="relu", kernel_regularizer=keras.regularizers.L2(0.01)),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    return model


def test_unsupported_model_falls_back_quietly_to_fresh_copies(course_data, capfd):
    model = regularized_model()
    data = course_data.take(5)
    outcome = run_independent_trials(model, data, [1e-7, 1e-6])
    assert outcome.method == "fallback"
    assert "kernel_regularizer" in outcome.reason and "fresh copy" in outcome.reason
    for trial, lr in enumerate([1e-7, 1e-6]):
        losses, weights = reference(model, data, lr, 1)
        np.testing.assert_allclose(outcome.losses[0, 0, trial], losses[-1], rtol=1e-6)
        for got, expected in zip(outcome.final_weights[0][0][trial], weights, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    assert capfd.readouterr().err == "", "nbgrader zeroes a cell that writes to stderr"


def test_what_only_shows_while_tracing_also_falls_back():
    """A recurrent layer over sequences of unknown length is only found out when the step is traced."""
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input(shape=(None, 1)), keras.layers.SimpleRNN(3), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    sequences = np.linspace(-1, 1, 4 * 6 * 1, dtype="float32").reshape(4, 6, 1)
    data = tf.data.Dataset.from_tensor_slices((sequences, sequences[:, -1, 0])).batch(2)
    data = data.map(
        lambda x, y: (tf.reshape(x, tf.concat([tf.shape(x)[:1], [-1, 1]], 0)), y)
    )  # length unknown
    assert data.element_spec[0].shape.as_list() == [None, None, 1]
    outcome = run_independent_trials(model, data, [1e-3, 1e-2])
    assert outcome.method == "fallback" and "fixed number of time steps" in outcome.reason
    losses, _ = reference(model, data, 1e-2, 1)
    np.testing.assert_allclose(outcome.losses[0, 0, 1], losses[-1], rtol=1e-6)


def test_forcing_the_vectorized_method_on_an_unsupported_model_is_a_clear_error(course_data):
    with pytest.raises(ValueError, match="method='vectorized' cannot train this model.*kernel_regularizer"):
        run_independent_trials(regularized_model(), course_data, [1e-6], method="vectorized")


def test_path_is_the_old_name_of_method(course_data):
    """Notebook 5 calls run_independent_trials(..., path="fallback")."""
    outcome = run_independent_trials(regularized_model(), course_data.take(2), [1e-6], path="fallback")
    assert outcome.method == "fallback" and "method='fallback' was asked for" in outcome.reason
    with pytest.raises(TypeError, match="method or its old name path"):
        run_independent_trials(regularized_model(), course_data, [1e-6], method="fallback", path="fallback")


def test_vectorized_path_writes_nothing_to_stderr(course_data, capfd):
    model = compiled(build_dense_model, keras.optimizers.SGD(0.1, momentum=0.9))
    run_independent_trials(model, course_data.take(2), [1e-6, 1e-5])
    assert capfd.readouterr().err == ""


def dense(**options):
    return keras.Sequential([keras.Input(shape=(20,)), keras.layers.Dense(1, **options)])


@pytest.mark.parametrize(
    ("model", "optimizer", "loss", "reason"),
    [
        (lambda: dense(), keras.optimizers.RMSprop(), "mse", "RMSprop"),
        (lambda: dense(), keras.optimizers.Adam(amsgrad=True), "mse", "amsgrad"),
        (lambda: dense(), keras.optimizers.SGD(clipnorm=1.0), "mse", "clipnorm"),
        (lambda: dense(), keras.optimizers.SGD(weight_decay=0.1), "mse", "weight_decay"),
        (
            lambda: dense(),
            keras.optimizers.SGD(),
            lambda y, p: keras.ops.mean((y - p) ** 2, axis=-1),
            "not one of",
        ),
        (lambda: dense(), keras.optimizers.SGD(), "dice", "not one of"),
        (
            lambda: dense(kernel_constraint=keras.constraints.NonNeg()),
            keras.optimizers.SGD(),
            "mse",
            "constraint",
        ),
        (lambda: dense(activation=lambda x: x * 2), keras.optimizers.SGD(), "mse", "custom activation"),
        (
            lambda: keras.Sequential(
                [keras.Input(shape=(20,)), keras.layers.Dropout(0.1), keras.layers.Dense(1)]
            ),
            keras.optimizers.SGD(),
            "mse",
            "Dropout",
        ),
        (
            lambda: keras.Sequential(
                [keras.Input(shape=(20, 1)), keras.layers.LSTM(2), keras.layers.Dense(1)]
            ),
            keras.optimizers.SGD(),
            "mse",
            "LSTM",
        ),
    ],
    ids=[
        "rmsprop",
        "amsgrad",
        "clipnorm",
        "weight-decay",
        "custom-loss",
        "dice",
        "constraint",
        "activation",
        "dropout",
        "lstm",
    ],
)
def test_what_the_trial_axis_cannot_express_is_named(model, optimizer, loss, reason):
    built = model()
    built.compile(optimizer=optimizer, loss=loss)
    dataset = tf.data.Dataset.from_tensors((tf.zeros([1, *built.input_shape[1:]]), tf.zeros([1])))
    with pytest.raises(_trial_axis.Unsupported, match=reason):
        _trial_axis.make_plan(built, dataset, [0.0])


def test_warm_calls_do_not_retrace(course_data):
    first = compiled(build_dense_model, keras.optimizers.SGD(0.1, momentum=0.9), seed=11)
    second = compiled(
        build_dense_model, keras.optimizers.SGD(0.5, momentum=0.9), seed=12
    )  # same architecture
    data = course_data.take(2)
    run_independent_trials(first, data, [1e-6, 1e-5, 1e-4])
    run_independent_trials(second, data, [1e-6])  # another model, another number of trials
    run_independent_trials(
        first, course_data, [1e-6, 1e-5], epochs_per_trial=2
    )  # another data set, same shape
    epoch = _trial_axis.compiled_epoch(_trial_axis.make_plan(first, data, [0.9]))
    assert epoch.experimental_get_tracing_count() == 1


# --- bad input ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny():
    keras.utils.set_random_seed(0)
    model = dense()
    model.compile(optimizer="sgd", loss="mse")
    data = tf.data.Dataset.from_tensors((tf.zeros([2, 20]), tf.zeros([2])))
    return model, data


@pytest.mark.parametrize(
    ("changes", "error", "pattern"),
    [
        ({"lrs": []}, ValueError, "lrs"),
        ({"lrs": [1e-3, 0.0]}, ValueError, r"lrs .*\[0\.0\]"),
        ({"lrs": [-1e-3]}, ValueError, "lrs"),
        ({"lrs": [float("nan")]}, ValueError, "lrs"),
        ({"lrs": "0.1"}, TypeError, "lrs"),
        ({"lrs": [[1e-3]]}, ValueError, "lrs"),
        ({"epochs_per_trial": 0}, ValueError, "epochs_per_trial"),
        ({"epochs_per_trial": 1.5}, TypeError, "epochs_per_trial"),
        ({"seed": -1}, ValueError, "seed"),
        ({"method": "fast"}, ValueError, "method"),
        ({"path": "fast"}, ValueError, "path must be one of"),
        ({"dataset": [(np.zeros((2, 20)), np.zeros(2))]}, TypeError, "dataset"),
        ({"model": "dense"}, TypeError, "model"),
        (
            {"dataset": tf.data.Dataset.from_tensors((tf.zeros([2, 7]), tf.zeros([2])))},
            ValueError,
            r"dataset.*\(2, 7\)",
        ),
        ({"momentum": [0.5, 1.0]}, ValueError, r"momentum .*below 1.*1\.0"),
        ({"momentum": [-0.1]}, ValueError, r"momentum.*-0\.1"),
        ({"momentum": "0.9"}, TypeError, "momentum"),
        ({"momentum": []}, ValueError, "momentum"),
        ({"init_seeds": 5}, TypeError, r"init_seeds .*range\(5\).*5"),
        ({"init_seeds": "01"}, TypeError, "init_seeds"),
        ({"init_seeds": []}, ValueError, "init_seeds"),
        ({"init_seeds": [0, -1]}, ValueError, "init_seeds"),
        ({"init_seeds": [0.5]}, TypeError, "init_seeds"),
        ({"validation_data": [(np.zeros((2, 20)), np.zeros(2))]}, TypeError, "validation_data must be"),
        (
            {"validation_data": tf.data.Dataset.from_tensors((tf.zeros([2, 7]), tf.zeros([2])))},
            ValueError,
            r"validation_data's features.*\(2, 7\)",
        ),
    ],
)
def test_bad_input_names_the_argument(tiny, changes, error, pattern):
    model, data = tiny
    arguments = {"model": model, "dataset": data, "lrs": [1e-3], **changes}
    with pytest.raises(error, match=pattern):
        run_independent_trials(
            arguments.pop("model"), arguments.pop("dataset"), arguments.pop("lrs"), **arguments
        )


def test_uncompiled_or_unbuilt_model_is_rejected(tiny):
    _, data = tiny
    with pytest.raises(ValueError, match="compiled"):
        run_independent_trials(dense(), data, [1e-3])
    unbuilt = keras.Sequential([keras.layers.Dense(1)])
    unbuilt.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="no weights"):
        run_independent_trials(unbuilt, data, [1e-3])


def test_empty_dataset_is_rejected_before_any_training(tiny):
    model, data = tiny
    with pytest.raises(ValueError, match="no batches"):
        run_independent_trials(model, data.take(0), [1e-3])
    unknown_length = data.filter(lambda x, y: False)  # TensorFlow cannot tell it is empty
    with pytest.raises(ValueError, match="no batches"):
        run_independent_trials(model, unknown_length, [1e-3], method="fallback")


def test_outcome_is_readable(tiny):
    model, data = tiny
    outcome = run_independent_trials(model, data, [1e-3, 1e-2])
    assert isinstance(outcome, TrialsOutcome)
    text = repr(outcome)
    assert "vectorized" in text and "final_weights" not in text  # short enough to print in a notebook
    assert [w.shape for w in outcome.final_weights[0][0][1]] == [w.shape for w in model.get_weights()]


def test_a_momentum_axis_needs_an_optimizer_with_a_momentum(tiny):
    _, data = tiny
    model = dense()
    model.compile(optimizer=keras.optimizers.Adagrad(), loss="mse")
    with pytest.raises(ValueError, match="momentum=.*Adagrad has neither"):
        run_independent_trials(model, data, [1e-3], momentum=[0.9])
