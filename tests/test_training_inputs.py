"""The model and data checks the range test and the trials share: one rule, one message each."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_utils._training_inputs import check_compiled_model, check_dataset

from support.keras_models import WINDOW, small_data, small_model


def test_a_compiled_model_and_its_batches_pass_unchanged():
    model, data = small_model(), small_data()
    assert check_compiled_model(model, needs_weights=True) is model
    assert check_dataset(data, model) is data
    weights = tf.data.Dataset.from_tensor_slices(
        (np.zeros((4, WINDOW), "float32"), np.zeros(4, "float32"), np.ones(4, "float32"))
    ).batch(2)
    assert check_dataset(weights, model) is weights  # sample weights as a third element


def test_models_are_checked_one_way():
    with pytest.raises(TypeError, match=r"keras\.Model; got builtins\.str"):
        check_compiled_model("dense")
    bare = keras.Sequential([keras.Input(shape=(WINDOW,)), keras.layers.Dense(1)], name="bare")
    with pytest.raises(ValueError, match="'bare' is not compiled with an optimizer and a loss"):
        check_compiled_model(bare)
    bare.compile(optimizer="sgd")  # no loss: nothing to sweep
    with pytest.raises(ValueError, match="'bare' is not compiled"):
        check_compiled_model(bare)
    unbuilt = keras.Sequential([keras.layers.Dense(1)], name="unbuilt")
    unbuilt.compile(optimizer="sgd", loss="mse")
    assert check_compiled_model(unbuilt) is unbuilt  # a sweep builds it on its first batch
    with pytest.raises(ValueError, match="'unbuilt' has no weights yet"):
        check_compiled_model(unbuilt, needs_weights=True)


def test_other_backends_are_refused(monkeypatch):
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match="TensorFlow backend.*jax"):
        check_compiled_model(small_model())


def test_data_sets_are_checked_one_way():
    model = small_model()
    with pytest.raises(TypeError, match=r"tf\.data\.Dataset.*got list"):
        check_dataset([(np.zeros((2, WINDOW)), np.zeros(2))], model)
    features_only = tf.data.Dataset.from_tensor_slices(np.zeros((4, WINDOW), "float32")).batch(2)
    with pytest.raises(TypeError, match=r"\(inputs, targets\)"):
        check_dataset(features_only, model)
    wrong_window = tf.data.Dataset.from_tensors((tf.zeros([2, 7]), tf.zeros([2])))
    with pytest.raises(ValueError, match=r"features have shape \(2, 7\) but model .* expects \(None, 5\)"):
        check_dataset(wrong_window, model)
    assert check_dataset(wrong_window) is wrong_window  # without a model there is no shape to match


def test_an_empty_data_set_is_found_once_whether_or_not_its_length_is_known():
    data = small_data()
    with pytest.raises(ValueError, match="dataset yielded no batches"):
        check_dataset(data.take(0))
    hidden = data.filter(lambda x, y: tf.reduce_all(y > 1e9))  # empty, of unknown length
    assert int(hidden.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    with pytest.raises(ValueError, match="dataset yielded no batches"):
        check_dataset(hidden)
    assert check_dataset(data.repeat()) is not None  # infinite: fine, nothing read
