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

import numpy as np
import tensorflow as tf

from course_utils import _trial_axis
from course_utils._training_inputs import check_compiled_model, check_dataset
from course_utils._validate import as_1d_float_array, check_choice, check_int, check_positive_rates, renamed
from course_utils.defaults import TRIAL_METHODS
from course_utils.models import fresh_copy


@dataclass(frozen=True, eq=False)
class TrialsOutcome:
    """What the trials gave, one entry per rate (in the order the rates were given).

    ``losses[i]`` is the mean training loss over trial ``i``'s last epoch (what
    ``history.history["loss"][-1]`` gives for a fresh copy trained at ``lrs[i]``), NaN or inf if
    the trial diverged. ``final_weights[i]`` is trial ``i``'s weights in ``model.get_weights()``
    order (for a diverged trial on the vectorised path: its last finite weights).
    ``method`` is how they were trained, ``"vectorized"`` or ``"fallback"``; ``reason`` explains it.
    """

    lrs: np.ndarray
    losses: np.ndarray
    epoch_losses: np.ndarray = field(repr=False)  # shape (epochs_per_trial, trials)
    diverged: np.ndarray = field(repr=False)
    final_weights: list = field(repr=False)
    method: str
    reason: str
    elapsed: float

    @property
    def epochs_per_trial(self) -> int:
        return self.epoch_losses.shape[0]


def run_independent_trials(
    model,
    dataset,
    lrs,
    *,
    epochs_per_trial: int = 1,
    seed: int | None = None,
    method: str = "auto",
    path: str | None = None,
) -> TrialsOutcome:
    """Train one trial per rate in ``lrs``, each from ``model``'s current weights, and return their losses.

    ``model`` must be compiled; its optimizer (SGD with or without momentum or Nesterov, or Adam,
    on the fast path) and loss define every trial, with the rate replaced by the trial's own.
    ``dataset`` is a ``tf.data.Dataset`` of ``(features, labels)`` batches; every trial sees the
    same batches in the same order (one pass of ``dataset`` per epoch). ``model`` and its
    optimizer are left unchanged. ``seed`` seeds Keras before each copy is built on the fallback
    path (the vectorised path draws no random numbers). ``method`` forces ``"vectorized"`` (an
    error if the model cannot be expressed) or ``"fallback"``; ``"auto"`` picks the fast one.
    ``path`` is its old name, still accepted.
    """
    method, name = renamed("method", method, "path", path, default="auto")
    method = check_choice(name, method, TRIAL_METHODS)
    check_compiled_model(model, needs_weights=True)
    check_dataset(dataset, model)
    rates = check_positive_rates(as_1d_float_array("lrs", lrs))
    epochs = check_int("epochs_per_trial", epochs_per_trial, minimum=1)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)

    started = time.perf_counter()
    trained, used = None, "fallback"
    if method == "fallback":
        reason = "method='fallback' was asked for: one fresh copy trained per rate"
    else:
        try:
            trained, used = _train_on_trial_axis(model, dataset, rates, epochs), "vectorized"
            reason = f"all {len(rates)} trials trained at once on a trial axis"
        except _trial_axis.Unsupported as error:
            if method == "vectorized":
                raise ValueError(f"method='vectorized' cannot train this model: {error}.") from None
            reason = f"{error}, so one fresh copy was trained per rate (slower, same answer)"
    epoch_losses, diverged, final_weights = trained or _train_copies(model, dataset, rates, epochs, seed)
    return TrialsOutcome(
        lrs=rates,
        losses=epoch_losses[-1].copy(),
        epoch_losses=epoch_losses,
        diverged=diverged,
        final_weights=final_weights,
        method=used,
        reason=reason,
        elapsed=time.perf_counter() - started,
    )


def _train_on_trial_axis(model, dataset, rates, epochs):
    """Train every trial on the trial axis; returns (epoch_losses, diverged, final_weights), as :func:`_train_copies`."""
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
        mean = (total / count).numpy()  # float32, as Keras' loss tracker divides
        now_alive = alive.numpy()
        # A trial that died this epoch reports the non-finite loss it met (or NaN); earlier: NaN.
        epoch_losses[index] = np.where(now_alive, mean, np.where(was_alive, bad.numpy(), np.nan))
    stacked = [weight.numpy() for weight in weights]
    return epoch_losses, ~alive.numpy(), [[weight[trial] for weight in stacked] for trial in range(trials)]


def _train_copies(model, dataset, rates, epochs, seed):
    """The slow, obviously right way: one fresh copy per rate, trained with ``fit``."""
    initial = model.get_weights()
    # One materialised pass per epoch, replayed for every trial, so all see the same batches.
    passes = [list(dataset) for _ in range(epochs)]
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
