"""The model and the data set a sweep trains on, checked one way for the range test and the trials.

Every message names the argument and says what was expected, as in :mod:`course_utils._validate`;
these checks need Keras and TensorFlow, which that module does not import.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def check_compiled_model(model, *, needs_weights: bool = False):
    """Return ``model`` if it is a Keras 3 model, compiled with an optimizer and a loss.

    ``needs_weights`` also asks for weights already there (independent trials start from them;
    a sweep builds an unbuilt model on its first batch instead).
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"the learning-rate sweeps need Keras 3 with the TensorFlow backend; KERAS_BACKEND is "
            f"{keras.backend.backend()!r}."
        )
    if not isinstance(model, keras.Model):
        kind = f"{type(model).__module__}.{type(model).__name__}"
        raise TypeError(f"model must be a Keras 3 keras.Model; got {kind}.")
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise ValueError(
            f"model {model.name!r} is not compiled with an optimizer and a loss: call "
            "model.compile(optimizer=..., loss=...) first (the sweep trains with them)."
        )
    if needs_weights and not model.weights:
        raise ValueError(
            f"model {model.name!r} has no weights yet: give it a keras.Input or call it once so the trials "
            "have initial weights to start from."
        )
    return model


def check_dataset(dataset, model=None, *, name: str = "dataset"):
    """Return ``dataset`` if it is a non-empty ``tf.data.Dataset`` of ``(inputs, targets)`` batches.

    Batches may carry sample weights as a third element. With ``model`` (one input of known
    shape), the inputs must fit it. An empty data set is refused here, once: its cardinality
    says so when TensorFlow knows it, otherwise one batch is read.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(
            f"{name} must be a tf.data.Dataset of (inputs, targets) batches, e.g. from "
            f"course_utils.windowed_dataset(); got {type(dataset).__name__}."
        )
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise TypeError(
            f"{name} must yield (inputs, targets) or (inputs, targets, sample_weights) batches; "
            f"got elements of spec {spec!r}."
        )
    inputs = getattr(model, "inputs", None) or []
    if isinstance(spec[0], tf.TensorSpec) and len(inputs) == 1:
        expected = tf.TensorShape(inputs[0].shape)
        if not spec[0].shape.is_compatible_with(expected):
            raise ValueError(
                f"{name}'s features have shape {tuple(spec[0].shape)} but model {model.name!r} expects "
                f"{tuple(expected)}; check the window size."
            )
    cardinality = int(dataset.cardinality())
    if cardinality == 0 or (cardinality == tf.data.UNKNOWN_CARDINALITY and _is_empty(dataset)):
        raise ValueError(f"{name} yielded no batches; the sweep needs at least one.")
    return dataset


def _is_empty(dataset) -> bool:
    for _ in dataset.take(1):
        return False
    return True
