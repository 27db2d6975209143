"""Models: the lesson's architecture, and fresh copies that share nothing with the original."""

import keras
import numpy as np
import pytest

from course_utils.models import build_dense_model, build_recurrent_model, compile_model, fresh_copy, sgd


def test_dense_model_is_10_10_1():
    model = build_dense_model(seed=0)
    assert [layer.units for layer in model.layers] == [10, 10, 1]
    assert model.input_shape == (None, 20) and model.count_params() == 20 * 10 + 10 + 10 * 10 + 10 + 10 + 1


def test_seed_makes_models_reproducible():
    first = build_dense_model(seed=7).get_weights()
    second = build_dense_model(seed=7).get_weights()
    other = build_dense_model(seed=8).get_weights()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_recurrent_model_runs_on_windows():
    model = build_recurrent_model(seed=0)
    assert model(np.zeros((3, 20), dtype="float32")).shape == (3, 1)


def test_fresh_copy_has_given_weights_and_a_fresh_optimizer():
    model = compile_model(build_dense_model(seed=0), 1e-3)
    features, labels = np.random.rand(64, 20).astype("float32"), np.random.rand(64).astype("float32")
    initial = model.get_weights()
    model.fit(features, labels, epochs=1, verbose=0)
    copy = fresh_copy(model, weights=initial)
    for a, b in zip(copy.get_weights(), initial, strict=True):
        np.testing.assert_array_equal(a, b)
    assert copy.optimizer is not model.optimizer and int(copy.optimizer.iterations) == 0
    assert copy.optimizer.get_config()["momentum"] == 0.9 and copy.loss == "mse"
    trained = [w.copy() for w in model.get_weights()]
    copy.fit(features, labels, epochs=1, verbose=0)
    assert not np.array_equal(copy.get_weights()[0], initial[0]), "the copy must train"
    for before, after in zip(trained, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)  # training the copy leaves the original alone


def test_fresh_copy_reinitialises_reproducibly():
    model = build_dense_model(seed=0)
    first, second = fresh_copy(model, seed=5), fresh_copy(model, seed=5)
    np.testing.assert_array_equal(first.get_weights()[0], second.get_weights()[0])
    assert not np.array_equal(first.get_weights()[0], model.get_weights()[0])


def test_fresh_copy_rejects_bad_input():
    model = build_dense_model(seed=0)
    with pytest.raises(TypeError, match="keras.Model"):
        fresh_copy("model")
    with pytest.raises(ValueError, match="weights must match"):
        fresh_copy(model, weights=[np.zeros((2, 2))])


def test_sgd_checks_its_arguments():
    assert isinstance(sgd(1e-3), keras.optimizers.SGD)
    with pytest.raises(ValueError, match="lr must be positive"):
        sgd(0)
    with pytest.raises(ValueError, match="momentum must be less than 1"):
        sgd(1e-3, momentum=1.0)
