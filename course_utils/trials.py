"""Independent learning-rate trials: every rate starts from the same initial weights.

The lesson's sweep trains one model through rising rates, so the loss recorded at a rate carries
the history of all the rates before it. Starting every rate afresh removes that history, but done
naively it costs one training per rate. :func:`run_independent_trials` trains all the trials at
once instead: one model with a trial axis (each trial its own weights, optimizer slots and rate),
so one pass over the data trains them all. A model it cannot express exactly is trained the slow
way, one fresh copy per rate, and the outcome says so and why: slower, never a different answer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from course_utils import _trial_axis
from course_utils._validate import as_1d_float_array, check_choice, check_int
from course_utils.models import fresh_copy

#: How the trials may be trained: ``auto`` tries the trial axis and falls back to separate copies.
TRIAL_PATHS = ("auto", "vectorized", "fallback")


@dataclass(frozen=True, eq=False)
class TrialsOutcome:
    """What the trials gave, one entry per rate (in the order the rates were given).

    ``losses[i]`` is the mean training loss over trial ``i``'s last epoch (what
    ``history.history["loss"][-1]`` gives for a fresh copy trained at ``lrs[i]``), NaN or inf if
    the trial diverged. ``final_weights[i]`` is trial ``i``'s weights in ``model.get_weights()``
    order (for a diverged trial on the vectorised path: its last finite weights).
    ``path`` is ``"vectorized"`` or ``"fallback"``; ``reason`` explains the choice.
    """

    lrs: np.ndarray
    losses: np.ndarray
    epoch_losses: np.ndarray = field(repr=False)  # shape (epochs_per_trial, trials)
    diverged: np.ndarray = field(repr=False)
    final_weights: list = field(repr=False)
    path: str
    reason: str
    elapsed: float

    @property
    def epochs_per_trial(self) -> int:
        return self.epoch_losses.shape[0]


def run_independent_trials(
    model, dataset, lrs, *, epochs_per_trial: int = 1, seed: int | None = None, path: str = "auto"
) -> TrialsOutcome:
    """Train one trial per rate in ``lrs``, each from ``model``'s current weights, and return their losses.

    ``model`` must be compiled; its optimizer (SGD with or without momentum or Nesterov, or Adam,
    on the fast path) and loss define every trial, with the rate replaced by the trial's own.
    ``dataset`` is a ``tf.data.Dataset`` of ``(features, labels)`` batches; every trial sees the
    same batches in the same order (one pass of ``dataset`` per epoch). ``model`` and its
    optimizer are left unchanged. ``seed`` seeds Keras before each copy is built on the fallback
    path (the vectorised path draws no random numbers). ``path`` forces ``"vectorized"`` (an
    error if the model cannot be expressed) or ``"fallback"``; ``"auto"`` picks the fast one.
    """
    _check_model(model)
    _check_dataset(dataset, model)
    rates = _check_rates(lrs)
    epochs = check_int("epochs_per_trial", epochs_per_trial, minimum=1)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    path = check_choice("path", path, TRIAL_PATHS)

    started = time.perf_counter()
    if path == "fallback":
        reason = "path='fallback' was asked for: one fresh copy trained per rate"
    else:
        try:
            epoch_losses, alive, weights = _train_on_trial_axis(model, dataset, rates, epochs)
        except _trial_axis.Unsupported as error:
            if path == "vectorized":
                raise ValueError(f"path='vectorized' cannot train this model: {error}.") from None
            reason = f"{error}, so one fresh copy was trained per rate (slower, same answer)"
        else:
            stacked = [weight.numpy() for weight in weights]
            return TrialsOutcome(
                lrs=rates,
                losses=epoch_losses[-1].copy(),
                epoch_losses=epoch_losses,
                diverged=~alive,
                final_weights=[[weight[trial] for weight in stacked] for trial in range(len(rates))],
                path="vectorized",
                reason=f"all {len(rates)} trials trained at once on a trial axis",
                elapsed=time.perf_counter() - started,
            )
    epoch_losses, diverged, final_weights = _train_copies(model, dataset, rates, epochs, seed)
    return TrialsOutcome(
        lrs=rates,
        losses=epoch_losses[-1].copy(),
        epoch_losses=epoch_losses,
        diverged=diverged,
        final_weights=final_weights,
        path="fallback",
        reason=reason,
        elapsed=time.perf_counter() - started,
    )


def _check_model(model) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a compiled keras.Model; got {type(model).__name__}.")
    if getattr(model, "optimizer", None) is None or getattr(model, "loss", None) is None:
        raise ValueError(
            f"model must be compiled with an optimizer and a loss (model.compile(...)); "
            f"got model {model.name!r} without them."
        )
    if not model.weights:
        raise ValueError(
            f"model {model.name!r} has no weights yet: give it a keras.Input or call it once so the trials "
            "have initial weights to start from."
        )


def _check_dataset(dataset, model) -> None:
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(
            f"dataset must be a tf.data.Dataset of (features, labels) batches; got {type(dataset).__name__}."
        )
    spec = dataset.element_spec
    inputs = getattr(model, "inputs", None) or []
    if isinstance(spec, tuple) and isinstance(spec[0], tf.TensorSpec) and len(inputs) == 1:
        expected = tf.TensorShape(inputs[0].shape)
        if not spec[0].shape.is_compatible_with(expected):
            raise ValueError(
                f"dataset's features have shape {tuple(spec[0].shape)} but model {model.name!r} expects "
                f"{tuple(expected)}; check the window size."
            )


def _check_rates(lrs) -> np.ndarray:
    rates = as_1d_float_array("lrs", lrs)
    bad = rates[~(np.isfinite(rates) & (rates > 0))]
    if bad.size:
        raise ValueError(
            f"lrs must all be positive, finite learning rates; got {bad[:5].tolist()} among them."
        )
    return rates


def _train_on_trial_axis(model, dataset, rates, epochs):
    """Train every trial on the trial axis; returns (epoch_losses, alive, stacked weights)."""
    plan = _trial_axis.make_plan(model, dataset)
    epoch = _trial_axis.compiled_epoch(plan)
    trials = len(rates)
    weights = tuple(tf.constant(np.broadcast_to(w, (trials, *w.shape))) for w in model.get_weights())
    slots = tuple(plan.rule.slots(weight) for weight in weights)
    alive = tf.ones([trials], tf.bool)
    bad = tf.fill([trials], float("nan"))
    step = tf.constant(0, tf.int64)
    learning_rates = tf.constant(rates, tf.float32)
    epoch_losses = np.empty((epochs, trials))
    for index in range(epochs):
        was_alive = alive.numpy()
        try:
            weights, slots, alive, bad, step, total, count = epoch(
                weights, slots, alive, bad, step, learning_rates, dataset
            )
        except _trial_axis.Unsupported:
            _trial_axis.forget(plan)  # found out while tracing: do not keep the failed trace
            raise
        if float(count) == 0:
            raise ValueError("dataset yielded no batches: the trials need at least one batch per epoch.")
        mean = (total / count).numpy()  # float32, as Keras' loss tracker divides
        now_alive = alive.numpy()
        # A trial that died this epoch reports the non-finite loss it met (or NaN); earlier: NaN.
        epoch_losses[index] = np.where(now_alive, mean, np.where(was_alive, bad.numpy(), np.nan))
    return epoch_losses, alive.numpy(), weights


def _train_copies(model, dataset, rates, epochs, seed):
    """The slow, obviously right way: one fresh copy per rate, trained with ``fit``."""
    initial = model.get_weights()
    # One materialised pass per epoch, replayed for every trial, so all see the same batches.
    passes = [list(dataset) for _ in range(epochs)]
    if not passes[0]:
        raise ValueError("dataset yielded no batches: the trials need at least one batch per epoch.")
    spec = dataset.element_spec
    epoch_losses = np.empty((epochs, len(rates)))
    final_weights, diverged = [], np.zeros(len(rates), bool)
    for trial, rate in enumerate(rates):
        try:
            copy = fresh_copy(model, weights=initial, seed=seed, compile=False)
        except (TypeError, ValueError, NotImplementedError) as error:
            raise ValueError(
                f"model {model.name!r} cannot be trained on the trial axis, and copying it failed: {error}"
            ) from None
        copy.compile(**_compile_arguments(model, rate))
        for index, batches in enumerate(passes):
            history = copy.fit(_replay(batches, spec), epochs=1, verbose=0, shuffle=False)
            epoch_losses[index, trial] = history.history["loss"][-1]
        weights = copy.get_weights()
        final_weights.append(weights)
        diverged[trial] = not (
            np.isfinite(epoch_losses[-1, trial]) and all(np.isfinite(w).all() for w in weights)
        )
    return epoch_losses, diverged, final_weights


def _replay(batches, spec):
    # A known length keeps Keras from warning that the data "ran out" at the end of the epoch.
    replay = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec)
    return replay.apply(tf.data.experimental.assert_cardinality(len(batches)))


def _compile_arguments(model, rate) -> dict:
    """``model``'s compile arguments with a new optimizer at ``rate`` (metrics dropped: only the loss counts)."""
    config = dict(getattr(getattr(model, "_compile_config", None), "config", None) or {})
    arguments = {key: config[key] for key in ("loss_weights", "jit_compile") if key in config}
    arguments["loss"] = model.loss
    optimizer_config = model.optimizer.get_config()
    if "learning_rate" in optimizer_config:
        optimizer_config["learning_rate"] = float(rate)
        arguments["optimizer"] = type(model.optimizer).from_config(optimizer_config)
    else:  # a wrapper such as LossScaleOptimizer passes the rate on to its inner optimizer
        optimizer = type(model.optimizer).from_config(optimizer_config)
        optimizer.learning_rate = float(rate)
        arguments["optimizer"] = optimizer
    return arguments
