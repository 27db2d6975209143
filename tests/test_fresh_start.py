"""fresh_start: one compiled model put back to a fresh start, so a loop of trials needs no rebuild."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from course_utils.fresh_start import fresh_start
from course_utils.models import fresh_copy

from support.keras_models import small_data, small_model


@pytest.mark.parametrize(
    "optimizer",
    [lambda: keras.optimizers.SGD(0.01, momentum=0.9), lambda: keras.optimizers.Adam(1e-3)],
    ids=["sgd-momentum", "adam"],
)
def test_training_after_a_fresh_start_is_training_a_new_copy(optimizer):
    model = small_model(optimizer())
    start, its_optimizer, data = model.get_weights(), model.optimizer, small_data()
    model.fit(data, epochs=2, verbose=0, shuffle=False)  # a trial: moved weights, counted steps, momentum
    assert int(its_optimizer.iterations) > 0
    fresh_start(model, start)
    assert model.optimizer is its_optimizer and int(its_optimizer.iterations) == 0
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), start, strict=True))
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    copy = fresh_copy(model, weights=start)
    copy.fit(data, epochs=1, verbose=0, shuffle=False)
    for got, expected in zip(model.get_weights(), copy.get_weights(), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_the_learning_rate_is_a_setting_and_stays():
    model = small_model(keras.optimizers.SGD(0.03, momentum=0.9))
    model.fit(small_data(), epochs=1, verbose=0)
    fresh_start(model, model.get_weights())
    assert np.isclose(float(model.optimizer.learning_rate), 0.03)


def test_weights_of_the_wrong_shapes_are_refused_naming_them():
    model = small_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"weights must match the model's shapes"):
        fresh_start(model, before[:-1])
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), before, strict=True))
