"""Schedules: the lesson's sweep exactly, the per-step sweep, and decay shapes."""

import math

import keras
import numpy as np
import pytest

from course_utils import sweep_schedule
from course_utils.schedules import (
    ExponentialSweep,
    OneCycle,
    decay_schedule,
    geometric_rates,
    schedule_values,
    sweep_rates,
)


def test_sweep_schedule_is_the_lessons_lambda():
    lesson = lambda epoch: 1e-8 * 10 ** (epoch / 20)  # noqa: E731 - the lesson's own form
    schedule = sweep_schedule()
    for epoch in range(100):
        assert schedule(epoch) == lesson(epoch)


def test_sweep_schedule_works_with_keras_callback():
    callback = keras.callbacks.LearningRateScheduler(sweep_schedule(start=1e-3, epochs_per_decade=1))
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    rates = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: rates.append(float(model.optimizer.learning_rate))
    )
    model.fit(np.zeros((4, 1)), np.zeros((4, 1)), epochs=3, verbose=0, callbacks=[callback, record])
    np.testing.assert_allclose(rates, [1e-3, 1e-2, 1e-1], rtol=1e-6)


def test_sweep_rates_match_history_length_and_values():
    rates = sweep_rates()
    assert rates.shape == (100,)
    assert rates[0] == 1e-8 and rates[20] == pytest.approx(1e-7)
    assert rates[-1] == pytest.approx(1e-8 * 10 ** (99 / 20))


def test_sweep_schedule_rejects_bad_arguments():
    with pytest.raises(ValueError, match="start"):
        sweep_schedule(start=0)
    with pytest.raises(TypeError, match="epochs_per_decade"):
        sweep_schedule(epochs_per_decade="20")
    with pytest.raises(TypeError, match="epoch"):
        sweep_schedule()(1.5)


def test_exponential_sweep_spans_the_range_geometrically():
    schedule = ExponentialSweep(1e-6, 1e-2, 5)
    values = schedule_values(schedule, 5)
    np.testing.assert_allclose(values, [1e-6, 1e-5, 1e-4, 1e-3, 1e-2], rtol=1e-5)
    np.testing.assert_allclose(schedule.rates(), geometric_rates(1e-6, 1e-2, 5))
    assert (
        keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule)).num_steps == 5
    )


def test_exponential_sweep_has_one_formula_for_keras_and_the_range_test():
    """The schedule Keras calls and the range test's graph both evaluate ExponentialSweep.formula."""
    schedule = ExponentialSweep(1e-8, 1e-2, 1200)
    assert schedule.log_ratio == pytest.approx(math.log(1e6) / 1199)
    steps = np.arange(1200, dtype="float64")
    exact = schedule.formula(steps, schedule.start_lr, schedule.log_ratio)
    np.testing.assert_allclose(exact, schedule.rates(), rtol=1e-12)
    np.testing.assert_allclose(schedule_values(schedule, 1200), schedule.rates(), rtol=1e-5)


@pytest.mark.parametrize(
    ("start", "end", "steps", "error"),
    [
        (1e-2, 1e-6, 5, ValueError),
        (0.0, 1.0, 5, ValueError),
        (1e-6, 1e-2, 1, ValueError),
        (1e-6, 1e-2, 2.0, TypeError),
    ],
)
def test_exponential_sweep_rejects_bad_ranges(start, end, steps, error):
    with pytest.raises(error):
        ExponentialSweep(start, end, steps)


def test_reversed_rates_name_both_arguments():
    with pytest.raises(
        ValueError, match=r"start_lr must be smaller than end_lr.*start_lr=0\.1, end_lr=0\.001"
    ):
        geometric_rates(0.1, 0.001, 3)


@pytest.mark.parametrize("kind", ["constant", "exponential", "cosine", "one_cycle"])
def test_decay_schedules_start_or_peak_at_the_chosen_rate(kind):
    values = schedule_values(decay_schedule(kind, 1e-3, 100), 100)
    assert values.max() == pytest.approx(1e-3, rel=1e-3)
    if kind == "constant":
        np.testing.assert_allclose(values, 1e-3, rtol=1e-6)
    elif kind == "one_cycle":
        assert values[0] < values.max() and values[-1] < values[0]
        assert np.argmax(values) == 25
    else:
        assert values[0] == pytest.approx(1e-3) and np.all(np.diff(values) <= 0) and values[-1] < 2e-5


def test_exponential_decay_reaches_its_final_fraction():
    schedule = decay_schedule("exponential", 1e-2, 11, final_fraction=0.1)
    assert schedule_values(schedule, 12)[-1] == pytest.approx(1e-3, rel=1e-4)


def test_one_cycle_warms_up_then_anneals():
    values = schedule_values(OneCycle(1.0, 9, warmup_fraction=0.25, div_factor=10, final_div=100), 9)
    assert values[0] == pytest.approx(0.1, rel=1e-5) and values[2] == pytest.approx(1.0, rel=1e-5)
    assert values[-1] == pytest.approx(0.01, rel=1e-4)
    assert np.all(np.diff(values[:3]) > 0) and np.all(np.diff(values[2:]) < 0)


def test_decay_schedule_rejects_unknown_kind_and_options():
    with pytest.raises(ValueError, match="kind must be one of"):
        decay_schedule("linear", 1e-3, 10)
    with pytest.raises(TypeError, match="alpha"):
        decay_schedule("exponential", 1e-3, 10, alpha=0.1)
    with pytest.raises(ValueError, match="initial_lr"):
        decay_schedule("cosine", -1.0, 10)
