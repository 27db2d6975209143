"""The course's models, and fresh copies of them.

A learning-rate sweep trains the model it is given, so the lesson rebuilds the model before
retraining; :func:`fresh_copy` does that in one call, optionally from given initial weights so
that two experiments start from the same point.
"""

from __future__ import annotations

import keras

from course_utils._validate import check_int, check_real
from course_utils.data import WINDOW_SIZE


def _set_seed(seed):
    if seed is not None:
        keras.utils.set_random_seed(check_int("seed", seed, minimum=0))


def build_dense_model(window_size: int = WINDOW_SIZE, *, seed: int | None = None):
    """The lesson's model: Dense 10 (ReLU) → Dense 10 (ReLU) → Dense 1, on windows of ``window_size``."""
    window_size = check_int("window_size", window_size, minimum=1)
    _set_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(window_size,)),
            keras.layers.Dense(10, activation="relu"),
            keras.layers.Dense(10, activation="relu"),
            keras.layers.Dense(1),
        ],
        name="dense_10_10_1",
    )


def build_recurrent_model(window_size: int = WINDOW_SIZE, units: int = 20, *, seed: int | None = None):
    """A small recurrent model: the window as a sequence → SimpleRNN → Dense 1, scaled by 100.

    The scaling (as in the course's RNN lesson) lets outputs near 0-100 come from a tanh layer.
    """
    window_size = check_int("window_size", window_size, minimum=1)
    units = check_int("units", units, minimum=1)
    _set_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(window_size,)),
            keras.layers.Reshape((window_size, 1)),
            keras.layers.SimpleRNN(units),
            keras.layers.Dense(1),
            keras.layers.Rescaling(100.0),
        ],
        name=f"simple_rnn_{units}",
    )


def sgd(lr: float, momentum: float = 0.9, nesterov: bool = False):
    """The lesson's optimizer: SGD with momentum 0.9."""
    lr = check_real("lr", lr, positive=True)
    momentum = check_real("momentum", momentum, non_negative=True, below=1.0)
    return keras.optimizers.SGD(learning_rate=lr, momentum=momentum, nesterov=bool(nesterov))


def compile_model(model, lr: float, *, momentum: float = 0.9, loss: str = "mse", optimizer=None):
    """Compile ``model`` for the lesson: SGD with momentum (or ``optimizer``), ``loss``, MAE metric."""
    model.compile(
        optimizer=optimizer if optimizer is not None else sgd(lr, momentum), loss=loss, metrics=["mae"]
    )
    return model


def fresh_copy(model, *, weights=None, seed: int | None = None, compile: bool = True):
    """Same architecture as ``model``, new weights; nothing is shared with ``model``.

    ``weights`` (a list as from ``model.get_weights()``) gives the copy those initial weights;
    otherwise it is initialised anew, reproducibly when ``seed`` is given. If ``model`` is
    compiled and ``compile`` is true, the copy is compiled with the same loss and a new optimizer
    of the same configuration (so no optimizer state such as momentum carries over).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model; got {type(model).__name__}.")
    _set_seed(seed)
    copy = keras.models.clone_model(model)
    if weights is not None:
        expected = [tuple(w.shape) for w in copy.weights]
        received = [tuple(getattr(w, "shape", ())) for w in weights]
        if expected != received:
            raise ValueError(f"weights must match the model's shapes {expected}; got shapes {received}.")
        copy.set_weights(weights)
    if compile and getattr(model, "optimizer", None) is not None and getattr(model, "loss", None) is not None:
        optimizer = type(model.optimizer).from_config(model.optimizer.get_config())
        copy.compile(optimizer=optimizer, loss=model.loss, metrics=_metric_names(model))
    return copy


def _metric_names(model):
    """Metric names given at compile time (``compile`` stores them on the compiled metrics)."""
    compiled = getattr(model, "_compile_metrics", None)
    names = getattr(compiled, "_user_metrics", None)
    return names if names is not None else None
