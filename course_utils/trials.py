"""Independent learning-rate trials: every rate starts afresh, from the same initial weights.

The lesson's sweep trains one model through rising rates, so the loss recorded at a rate carries
the history of all the rates before it. Starting every rate afresh removes that history, but done
naively it costs one training per rate. :func:`run_independent_trials` trains all the trials at
once instead: one model with a trial axis (each trial its own weights, optimizer slots and rate),
so one pass over the data trains them all. A model it cannot express exactly is trained the slow
way, one fresh copy per rate, and the outcome says so and why: slower, never a different answer.

The trial axis holds more than rates: every combination of initial weights (``init_seeds``),
momentum (``momentum``: SGD's, or Adam's ``beta_1``) and rate is one trial, so the spread over
initialisations and a second hyperparameter cost one run too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from course_utils import _trial_axis
from course_utils._training_inputs import check_compiled_model, check_dataset
from course_utils._validate import as_1d_float_array, check_choice, check_int, check_positive_rates, renamed
from course_utils.defaults import TRIAL_METHODS
from course_utils.models import fresh_copy


@dataclass(frozen=True, eq=False)
class TrialsOutcome:
    """What the trials gave, on a grid of initial weights × momentum × rate.

    Every array has the shape ``(len(init_seeds), len(momenta), len(lrs))`` (an axis of length 1
    where :func:`run_independent_trials` was not given that argument), in the order the values
    were given. ``losses[s, m, r]`` is the mean training loss over the last epoch of the trial that
    started from seed ``s``'s weights with momentum ``momenta[m]`` at rate ``lrs[r]`` (what
    ``history.history["loss"][-1]`` gives for a fresh copy trained that way), NaN or inf if it
    diverged; ``epoch_losses`` has a leading epoch axis. ``val_losses`` and ``val_epoch_losses``
    are the same on the validation data (``history.history["val_loss"]``), None without it.
    ``final_weights[s][m][r]`` is that trial's weights in ``model.get_weights()`` order (for a
    diverged trial on the vectorised path: its last finite weights). ``momenta`` holds SGD's
    ``momentum`` or Adam's ``beta_1`` (``momentum_name`` says which): the optimizer's own when no
    momentum axis was asked for. ``init_seeds`` is None when every trial started from the model's
    weights. ``method`` is how they were trained, ``"vectorized"`` or ``"fallback"``; ``reason``
    explains it.
    """

    lrs: np.ndarray
    momenta: np.ndarray
    init_seeds: tuple | None
    losses: np.ndarray
    epoch_losses: np.ndarray
    val_losses: np.ndarray | None
    val_epoch_losses: np.ndarray | None
    diverged: np.ndarray
    final_weights: list
    method: str
    reason: str
    elapsed: float
    momentum_name: str = "momentum"

    @property
    def epochs_per_trial(self) -> int:
        return self.epoch_losses.shape[0]

    @property
    def shape(self) -> tuple:
        """``(seeds, momenta, rates)``: the grid's shape, that of ``losses``."""
        return self.losses.shape

    def __repr__(self) -> str:
        seeds, momenta, rates = self.shape
        grid = f"{seeds} seed(s) x {momenta} {self.momentum_name} value(s) x {rates} rate(s)"
        validation = ", with validation loss" if self.val_losses is not None else ""
        return (
            f"TrialsOutcome({grid}, {self.epochs_per_trial} epoch(s) each{validation}, "
            f"{self.method}, {self.elapsed:.2f} s)"
        )


def run_independent_trials(
    model,
    dataset,
    lrs,
    *,
    momentum=None,
    init_seeds=None,
    epochs_per_trial: int = 1,
    validation_data=None,
    seed: int | None = None,
    method: str = "auto",
    path: str | None = None,
) -> TrialsOutcome:
    """Train one fresh trial per combination of initial weights, momentum and rate, all at once.

    Parameters
    ----------
    model : keras.Model
        Compiled, with weights. Its optimizer (SGD with or without momentum or Nesterov, or Adam,
        on the fast path) and loss define every trial, with the rate (and the momentum) replaced
        by the trial's own. ``model`` and its optimizer are left unchanged.
    dataset : tf.data.Dataset
        ``(features, labels)`` batches; every trial sees the same batches in the same order (one
        pass of ``dataset`` per epoch).
    lrs : sequence of float
        The rates, all positive.
    momentum : sequence of float, optional
        SGD momenta (for Adam: ``beta_1`` values), each in ``[0, 1)``. Default: the optimizer's own.
    init_seeds : sequence of int, optional
        Each seed gives the initial weights that ``keras.utils.set_random_seed(seed)`` and then
        building the model would give (the model's own initialisers). Default: every trial starts
        from ``model``'s current weights. Drawing them re-seeds Keras' global generators, as
        ``set_random_seed`` does.
    epochs_per_trial : int, default 1
        Epochs every trial trains.
    validation_data : tf.data.Dataset, optional
        ``(features, labels)`` batches on which every trial's loss is measured after each epoch.
    seed : int, optional
        Seeds Keras before each copy is built on the fallback path (the vectorised path draws no
        random numbers).
    method : {"auto", "vectorized", "fallback"}, default "auto"
        ``"vectorized"`` trains every trial at once on a trial axis (an error if the model cannot
        be expressed there), ``"fallback"`` one fresh copy per trial with ``fit``; ``"auto"``
        picks the fast one when it can. ``path`` is its old name, still accepted.

    Returns
    -------
    TrialsOutcome
        Losses of shape ``(len(init_seeds), len(momentum), len(lrs))``, an axis of length 1 where
        the argument was not given.

    Examples
    --------
    >>> outcome = run_independent_trials(model, dataset, [1e-6, 1e-5], momentum=[0.5, 0.9], init_seeds=range(5))
    >>> outcome.losses.shape
    (5, 2, 2)
    """
    method, name = renamed("method", method, "path", path, default="auto")
    method = check_choice(name, method, TRIAL_METHODS)
    check_compiled_model(model, needs_weights=True)
    check_dataset(dataset, model)
    if validation_data is not None:
        check_dataset(validation_data, model, name="validation_data")
    rates = check_positive_rates(as_1d_float_array("lrs", lrs))
    epochs = check_int("epochs_per_trial", epochs_per_trial, minimum=1)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    if momentum is None:
        momenta = np.array([_trial_axis.model_momentum(model.optimizer)])
        momentum_name = _momentum_name_or_default(model.optimizer)
    else:
        momentum_name = _trial_axis.momentum_name(model.optimizer)
        momenta = _check_momenta(momentum)
    seeds = None if init_seeds is None else _check_seeds(init_seeds)
    grid = Grid(
        rates=rates, momenta=momenta, initial=_initial_weights(model, seeds), momentum_name=momentum_name
    )

    started = time.perf_counter()
    trained, used = None, "fallback"
    if method == "fallback":
        reason = "method='fallback' was asked for: one fresh copy trained per trial"
    else:
        try:
            trained, used = _train_on_trial_axis(model, dataset, grid, epochs, validation_data), "vectorized"
            reason = f"all {grid.size} trials trained at once on a trial axis"
        except _trial_axis.Unsupported as error:
            if method == "vectorized":
                raise ValueError(f"method='vectorized' cannot train this model: {error}.") from None
            reason = f"{error}, so one fresh copy was trained per trial (slower, same answer)"
    if trained is None:
        trained = _train_copies(model, dataset, grid, epochs, validation_data, seed)
    epoch_losses, val_epoch_losses, diverged, final_weights = trained
    shape = grid.shape
    return TrialsOutcome(
        lrs=rates,
        momenta=momenta,
        init_seeds=seeds,
        losses=epoch_losses[-1].reshape(shape),
        epoch_losses=epoch_losses.reshape((epochs, *shape)),
        val_losses=None if val_epoch_losses is None else val_epoch_losses[-1].reshape(shape),
        val_epoch_losses=None if val_epoch_losses is None else val_epoch_losses.reshape((epochs, *shape)),
        diverged=diverged.reshape(shape),
        final_weights=grid.nested(final_weights),
        method=used,
        reason=reason,
        elapsed=time.perf_counter() - started,
        momentum_name=momentum_name,
    )


@dataclass(frozen=True)
class Grid:
    """The trials to train, flattened in C order over (seed, momentum, rate): trial ``t``'s values."""

    rates: np.ndarray
    momenta: np.ndarray
    initial: list  # one list of initial weights per seed (one entry: the model's own)
    momentum_name: str

    @property
    def shape(self) -> tuple:
        return (len(self.initial), len(self.momenta), len(self.rates))

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def nested(self, flat: list) -> list:
        """A list in trial order as ``nested[seed][momentum][rate]``."""
        seeds, momenta, rates = self.shape
        rows = [flat[row * rates : (row + 1) * rates] for row in range(seeds * momenta)]
        return [rows[seed * momenta : (seed + 1) * momenta] for seed in range(seeds)]

    def trial_rates(self) -> np.ndarray:
        return np.tile(self.rates, len(self.initial) * len(self.momenta))

    def trial_momenta(self) -> np.ndarray:
        return np.tile(np.repeat(self.momenta, len(self.rates)), len(self.initial))

    def trial_seed_index(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.initial)), len(self.momenta) * len(self.rates))


def _momentum_name_or_default(optimizer) -> str:
    try:
        return _trial_axis.momentum_name(optimizer)
    except ValueError:
        return "momentum"


def _check_momenta(momentum) -> np.ndarray:
    values = as_1d_float_array("momentum", momentum)
    bad = values[~((values >= 0) & (values < 1))]
    if bad.size:
        raise ValueError(
            f"momentum values must be at least 0 and below 1 (SGD's momentum or Adam's beta_1); got {bad[0]!r}."
        )
    return values


def _check_seeds(init_seeds) -> tuple:
    if isinstance(init_seeds, str | bytes) or not hasattr(init_seeds, "__iter__"):
        raise TypeError(
            f"init_seeds must be a sequence of seeds such as range(5); got {init_seeds!r} "
            f"({type(init_seeds).__name__})."
        )
    seeds = tuple(check_int("init_seeds", value, minimum=0) for value in init_seeds)
    if not seeds:
        raise ValueError("init_seeds must hold at least one seed; got an empty sequence.")
    return seeds


def _initial_weights(model, seeds) -> list:
    """One list of initial weights per seed: what set_random_seed(seed) then building the model draws."""
    if seeds is None:
        return [model.get_weights()]
    expected = [tuple(weight.shape) for weight in model.weights]
    initial = []
    for value in seeds:
        weights = fresh_copy(model, seed=value, compile=False).get_weights()
        if [tuple(weight.shape) for weight in weights] != expected:
            raise ValueError(
                f"init_seeds: a copy of model {model.name!r} built from its configuration has no weights of "
                "the model's shapes; give the model a keras.Input so that it is built when copied."
            )
        initial.append(weights)
    return initial


def _train_on_trial_axis(model, dataset, grid, epochs, validation_data):
    """Train every trial on the trial axis; returns what :func:`_train_copies` returns."""
    plan = _trial_axis.make_plan(model, dataset, grid.momenta)
    epoch = _trial_axis.compiled_epoch(plan)
    evaluate = None if validation_data is None else _trial_axis.compiled_evaluation(plan, validation_data)
    trials = grid.size
    per_seed = grid.size // len(grid.initial)
    weights = tuple(
        tf.constant(
            np.concatenate(
                [
                    np.broadcast_to(seed_weights[k], (per_seed, *seed_weights[k].shape))
                    for seed_weights in grid.initial
                ]
            )
        )
        for k in range(len(grid.initial[0]))
    )
    slots = tuple(plan.rule.slots(weight) for weight in weights)
    alive = tf.ones([trials], tf.bool)
    bad = tf.fill([trials], float("nan"))
    step = tf.constant(0, tf.int64)
    learning_rates = tf.constant(grid.trial_rates(), tf.float32)
    hyper = _trial_axis.hyper_values(plan.rule, grid.trial_momenta())
    epoch_losses = np.empty((epochs, trials))
    val_losses = None if evaluate is None else np.empty((epochs, trials))
    for index in range(epochs):
        was_alive = alive.numpy()
        try:
            weights, slots, alive, bad, step, total, count = epoch(
                weights, slots, alive, bad, step, learning_rates, hyper, dataset
            )
            if evaluate is not None:
                validation = evaluate(weights, validation_data).numpy()
        except _trial_axis.Unsupported:
            _trial_axis.forget(plan)  # found out while tracing: do not keep the failed trace
            raise
        mean = (total / count).numpy()  # float32, as Keras' loss tracker divides
        now_alive = alive.numpy()
        # A trial that died this epoch reports the non-finite loss it met (or NaN); earlier: NaN.
        epoch_losses[index] = np.where(now_alive, mean, np.where(was_alive, bad.numpy(), np.nan))
        if evaluate is not None:
            val_losses[index] = np.where(now_alive, validation, np.nan)
    stacked = [weight.numpy() for weight in weights]
    final_weights = [[weight[trial] for weight in stacked] for trial in range(trials)]
    return epoch_losses, val_losses, ~alive.numpy(), final_weights


def _train_copies(model, dataset, grid, epochs, validation_data, seed):
    """The slow, obviously right way: one fresh copy per trial, trained with ``fit``."""
    # One materialised pass per epoch, replayed for every trial, so all see the same batches.
    passes = [list(dataset) for _ in range(epochs)]
    spec = dataset.element_spec
    held_out = None if validation_data is None else list(validation_data)
    trials = grid.size
    epoch_losses = np.empty((epochs, trials))
    val_losses = None if validation_data is None else np.empty((epochs, trials))
    final_weights, diverged = [], np.zeros(trials, bool)
    seed_index, momenta, rates = grid.trial_seed_index(), grid.trial_momenta(), grid.trial_rates()
    for trial in range(trials):
        try:
            copy = fresh_copy(model, weights=grid.initial[seed_index[trial]], seed=seed, compile=False)
        except (TypeError, ValueError, NotImplementedError) as error:
            raise ValueError(
                f"model {model.name!r} cannot be trained on the trial axis, and copying it failed: {error}"
            ) from None
        copy.compile(**_compile_arguments(model, rates[trial], grid.momentum_name, momenta[trial]))
        for index, batches in enumerate(passes):
            history = copy.fit(
                _replay(batches, spec),
                validation_data=None if held_out is None else _replay(held_out, validation_data.element_spec),
                epochs=1,
                verbose=0,
                shuffle=False,
            )
            epoch_losses[index, trial] = history.history["loss"][-1]
            if held_out is not None:
                val_losses[index, trial] = history.history["val_loss"][-1]
        weights = copy.get_weights()
        final_weights.append(weights)
        diverged[trial] = not (
            np.isfinite(epoch_losses[-1, trial]) and all(np.isfinite(w).all() for w in weights)
        )
    return epoch_losses, val_losses, diverged, final_weights


def _replay(batches, spec):
    # A known length keeps Keras from warning that the data "ran out" at the end of the epoch.
    replay = tf.data.Dataset.from_generator(lambda: iter(batches), output_signature=spec)
    return replay.apply(tf.data.experimental.assert_cardinality(len(batches)))


def _compile_arguments(model, rate, momentum_name, momentum) -> dict:
    """``model``'s compile arguments with a new optimizer at ``rate`` and ``momentum`` (metrics dropped: only the loss counts)."""
    config = dict(getattr(getattr(model, "_compile_config", None), "config", None) or {})
    arguments = {key: config[key] for key in ("loss_weights", "jit_compile") if key in config}
    arguments["loss"] = model.loss
    optimizer_config = model.optimizer.get_config()
    if momentum_name in optimizer_config:
        optimizer_config[momentum_name] = float(momentum)
    if "learning_rate" in optimizer_config:
        optimizer_config["learning_rate"] = float(rate)
        arguments["optimizer"] = type(model.optimizer).from_config(optimizer_config)
    else:  # a wrapper such as LossScaleOptimizer passes the rate on to its inner optimizer
        optimizer = type(model.optimizer).from_config(optimizer_config)
        optimizer.learning_rate = float(rate)
        arguments["optimizer"] = optimizer
    return arguments
