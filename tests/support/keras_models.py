"""A small compiled model and data set that train in milliseconds, and exact comparisons of state."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

WINDOW = 5


def small_data(num_examples=64, batch_size=16, seed=0):
    """A small regression set, unshuffled so that any replay sees the same batches in order."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(num_examples, WINDOW)).astype("float32")
    labels = (features @ np.linspace(1.0, 2.0, WINDOW) + 3.0).astype("float32")
    return tf.data.Dataset.from_tensor_slices((features, labels)).batch(batch_size)


def small_model(optimizer=None, *, l2=0.0, seed=1):
    """Dense 8-1 on windows of 5 values; ``l2`` adds a regulariser that the loss must include."""
    keras.utils.set_random_seed(seed)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    model = keras.Sequential(
        [
            keras.Input(shape=(WINDOW,)),
            keras.layers.Dense(8, activation="relu", kernel_regularizer=regularizer),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    return model


def state_of(model):
    """Copies of every weight and optimizer variable, in a fixed order."""
    return [v.numpy().copy() for v in model.weights], [v.numpy().copy() for v in model.optimizer.variables]


def assert_same_state(before, after):
    for old, new in zip(before[0], after[0], strict=True):
        np.testing.assert_array_equal(old, new)
    assert len(before[1]) == len(after[1])
    for old, new in zip(before[1], after[1], strict=True):
        np.testing.assert_array_equal(old, new)
