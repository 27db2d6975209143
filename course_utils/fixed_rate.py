"""Train the same freshly initialised model at one fixed rate after another.

Notebook 1 compares fixed rates, and its slider trains at whatever rate a student picks. Building,
compiling and tracing a new model for every rate would take seconds each; instead one model is
built and compiled once, and every run starts by restoring its seeded initial weights, zeroing
the optimizer's state (momentum, step count) and setting the rate. That is the same as training
a freshly built model, which ``tests/test_fixed_rate.py`` checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from course_utils._validate import as_1d_float_array, check_int, check_real
from course_utils.data import Split, make_windows, windowed_dataset
from course_utils.models import build_dense_model, compile_model

#: A run whose loss exceeds this many times the untrained model's loss is stopped as diverged.
UNTRAINED_LOSS_FACTOR = 10.0


@dataclass(frozen=True)
class FixedRateRun:
    """What one training at a fixed rate gave."""

    lr: float
    history: dict
    initial_loss: float
    final_loss: float
    status: str  # "trained", "no progress" or "diverged"
    epochs_run: int
    valid_mae: float = math.nan


@dataclass(eq=False)
class FixedRateTrainer:
    """One compiled model, put back to its fresh start before every run (see the module's docstring)."""

    make_dataset: Callable = field(repr=False)
    epochs: int
    seed: int
    model: keras.Model = field(repr=False)
    initial_weights: list = field(repr=False)
    initial_loss: float
    valid_series: np.ndarray | None = field(repr=False)
    untrained_loss_factor: float

    def reset(self, lr: float) -> None:
        """Put the model back to its untrained state, with a fresh optimizer state at ``lr``."""
        self.model.set_weights(self.initial_weights)
        optimizer = self.model.optimizer
        for variable in optimizer.variables:
            variable.assign(keras.ops.zeros(variable.shape, dtype=variable.dtype))
        optimizer.learning_rate = lr
        keras.utils.set_random_seed(self.seed)

    def train(self, lr: float) -> FixedRateRun:
        """Train from the fresh start at ``lr`` for ``epochs`` epochs, stopping early if it diverges."""
        lr = check_real("lr", lr, positive=True)
        self.reset(lr)
        limit = (
            self.untrained_loss_factor * self.initial_loss if math.isfinite(self.initial_loss) else math.inf
        )
        model = self.model

        def stop_if_diverged(epoch, logs):
            loss = float((logs or {}).get("loss", math.nan))
            if not math.isfinite(loss) or loss > limit:
                model.stop_training = True

        history = model.fit(
            self.make_dataset(),
            epochs=self.epochs,
            shuffle=False,  # the dataset shuffles itself; Keras would ignore (and warn about) True
            verbose=0,
            callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=stop_if_diverged)],
        ).history
        history = {name: [float(v) for v in values] for name, values in history.items()}
        losses = np.asarray(history["loss"], dtype=float)
        final_loss = float(losses[-1])
        if not np.all(np.isfinite(losses)) or np.any(losses > limit):
            status = "diverged"
        elif final_loss >= self.initial_loss:
            status = "no progress"
        else:
            status = "trained"
        valid_mae = math.nan
        if self.valid_series is not None and status != "diverged":
            valid_mae = _forecast_mae_within(model, self.valid_series)
        return FixedRateRun(
            lr=lr,
            history=history,
            initial_loss=self.initial_loss,
            final_loss=final_loss,
            status=status,
            epochs_run=len(losses),
            valid_mae=valid_mae,
        )


def _forecast_mae_within(model, series: np.ndarray) -> float:
    """MAE of one-step forecasts for every point of ``series`` that has a full window before it."""
    window_size = int(model.input_shape[-1])
    features, labels = make_windows(series, window_size)
    predictions = model.predict(features, batch_size=1024, verbose=0).reshape(-1)
    return float(np.mean(np.abs(predictions - labels)))


def fixed_rate_trainer(
    dataset,
    *,
    epochs: int = 20,
    build_model: Callable | None = None,
    seed: int = 0,
    valid_series=None,
    lr: float = 1e-6,
    untrained_loss_factor: float = UNTRAINED_LOSS_FACTOR,
) -> FixedRateTrainer:
    """A trainer for fixed-rate runs from the same seeded initial weights.

    ``dataset`` is a windowed ``tf.data.Dataset`` or a :class:`course_utils.data.Split` (then the
    training part is windowed here and the validation MAE is reported). ``build_model(seed=...)``
    builds the model (default: the course's Dense model); it is compiled with the course's SGD with
    momentum at ``lr``. ``valid_series``, when given, is a series whose one-step forecast MAE is
    reported. A run whose loss turns NaN/inf or exceeds ``untrained_loss_factor`` times the
    untrained loss stops and is reported as diverged.
    """
    epochs = check_int("epochs", epochs, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    untrained_loss_factor = check_real("untrained_loss_factor", untrained_loss_factor, positive=True)
    lr = check_real("lr", lr, positive=True)
    if build_model is None:
        build_model = build_dense_model
    if not callable(build_model):
        raise TypeError(f"build_model must be a function taking seed=...; got {build_model!r}.")
    if not isinstance(dataset, Split | tf.data.Dataset):
        raise TypeError(
            "dataset must be a tf.data.Dataset of (window, target) batches or a data.Split; "
            f"got {type(dataset).__name__}."
        )
    model = build_model(seed=seed)
    if not isinstance(model, keras.Model):
        raise TypeError(f"build_model(seed=...) must return a keras.Model; got {type(model).__name__}.")
    if isinstance(dataset, Split):
        window_size = int(model.input_shape[-1])
        if valid_series is None:
            # The last window of the training part lets the first validation point be forecast.
            valid_series = np.concatenate([dataset.train[-window_size:], dataset.valid])
        train = dataset.train

        def make_dataset():
            # Rebuilt for every run so that every rate sees the same shuffle order.
            return windowed_dataset(train, window_size=window_size, seed=seed)

    else:
        given = dataset

        def make_dataset():
            return given

    if valid_series is not None:
        valid_series = as_1d_float_array("valid_series", valid_series, min_length=2)
    compile_model(model, lr)
    initial_weights = model.get_weights()
    initial_loss = float(model.evaluate(make_dataset(), verbose=0, return_dict=True)["loss"])
    return FixedRateTrainer(
        make_dataset=make_dataset,
        epochs=epochs,
        seed=seed,
        model=model,
        initial_weights=initial_weights,
        initial_loss=initial_loss,
        valid_series=valid_series,
        untrained_loss_factor=untrained_loss_factor,
    )
