"""The learning-rate range test: train while the rate grows, record the loss at every rate.

:func:`lr_range_test` is the front; its result is a :class:`RangeTestResult`. The way through:

1. :func:`_plan` resolves a sweep's plan once: its rates (the defaults of each kind of sweep)
   and how it may stop early;
2. one runner per kind of sweep trains and returns a :class:`_SweepRun` (the rates reached,
   their losses, why it ended): per batch (the graph in :mod:`course_utils._sweep_graph`), per
   epoch (``fit`` with ``LearningRateScheduler``, the lesson's method) or independent trials
   (:mod:`course_utils.trials`);
3. :func:`_result` builds the result from the plan and the run.

A continuous sweep leaves the model as it found it (weights and optimizer state) unless
``restore=False``; independent trials never touch it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import keras
import numpy as np
from tqdm.auto import tqdm

from course_utils._sweep_graph import SettableRate, sweep_per_batch
from course_utils._training_inputs import check_compiled_model, check_dataset
from course_utils._trial_axis import model_momentum
from course_utils._validate import check_choice, check_int, check_rate_range, check_real, renamed
from course_utils.defaults import (
    BATCH_END_LR,
    BATCH_NUM_RATES,
    BATCH_START_LR,
    BETA,
    DIVERGE_FACTOR,
    LESSON_END_LR,
    LESSON_EPOCHS_PER_DECADE,
    LESSON_NUM_EPOCHS,
    LESSON_START_LR,
    PER_CHOICES,
    STOP_COMPLETED,
    STOP_DIVERGED,
    STOP_NON_FINITE,
    TRIALS_CHOICES,
)
from course_utils.plots import plot_sweep, plot_trial_grid, seed_band
from course_utils.schedules import ExponentialSweep, geometric_rates, sweep_rates
from course_utils.suggest import SUGGESTION_METHODS, diagnose_sweep, smooth_losses, suggest_lr, usable_range
from course_utils.trials import TrialsOutcome, run_independent_trials

__all__ = [
    "BATCH_END_LR",
    "BATCH_NUM_RATES",
    "BATCH_START_LR",
    "LESSON_END_LR",
    "LESSON_EPOCHS_PER_DECADE",
    "LESSON_NUM_EPOCHS",
    "LESSON_START_LR",
    "PER_CHOICES",
    "STOP_COMPLETED",
    "STOP_DIVERGED",
    "STOP_NON_FINITE",
    "TRIALS_CHOICES",
    "RangeTestResult",
    "lr_range_test",
]


@dataclass(repr=False, eq=False)
class RangeTestResult:
    """What a range test recorded: ``losses[i]`` is the loss at rate ``lrs[i]``.

    ``losses`` are raw (per batch, per epoch or per trial); ``smoothed_losses`` are their
    debiased moving average with weight ``beta`` (what a per-batch sweep's stop rule watched;
    independent trials are not smoothed: ``beta`` is 0 and the two are equal). ``num_rates`` is
    how many rates the sweep planned; it stopped early when it recorded fewer. Read the curve with
    :meth:`suggest`, :meth:`usable_range` and :meth:`plot`; :meth:`summary` puts it all in a few lines.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    per: str
    trials: str
    elapsed: float
    num_rates: int = 0
    stop_reason: str = STOP_COMPLETED
    beta: float = 0.0
    trials_outcome: TrialsOutcome | None = field(default=None, repr=False)
    #: Independent trials on a grid: the momentum (SGD) or ``beta_1`` (Adam) whose row ``losses``
    #: holds (the median over the initial weights when there are several); None otherwise.
    momentum: float | None = None

    @property
    def grid_losses(self) -> np.ndarray | None:
        """Independent trials: every trial's loss, shape ``(seeds, momenta, rates)``; None for a continuous sweep."""
        return None if self.trials_outcome is None else self.trials_outcome.losses

    def at_momentum(self, value: float) -> RangeTestResult:
        """The same trials read at another momentum (one of the grid's): a new result whose curve is that row."""
        outcome = self.trials_outcome
        if outcome is None:
            raise ValueError(
                "at_momentum() reads independent trials run with momentum=[...]; this sweep is continuous."
            )
        value = check_real("value", value, non_negative=True)
        row = _momentum_row(outcome.momenta, value)
        if row is None:
            raise ValueError(
                f"value must be one of the swept {outcome.momentum_name} values "
                f"{[float(m) for m in outcome.momenta]}; got {value!r}."
            )
        losses = _seed_median(self._grid()[:, row, :])
        return replace(
            self, losses=losses, smoothed_losses=losses.copy(), momentum=float(outcome.momenta[row])
        )

    def valleys(self) -> dict:
        """Independent trials: each swept momentum's valley (median over seeds), None where none can be read."""
        outcome = self.trials_outcome
        if outcome is None:
            return {}
        found = {}
        for value in outcome.momenta:
            try:
                found[float(value)] = self.at_momentum(float(value)).suggest()
            except ValueError:
                found[float(value)] = None
        return found

    @property
    def stopped_early(self) -> bool:
        """True when the sweep ended before its last planned rate (the loss diverged)."""
        return self.stop_reason != STOP_COMPLETED

    def without_warmup(self, decades: float = 1.0) -> RangeTestResult:
        """The same sweep from ``decades`` above its first rate on: its warm-up left out.

        A per-epoch sweep trains one model from random weights, and a random model improves at
        almost any rate in its first epochs, which are also its smallest rates (the lesson's
        ``1e-8`` to ``1e-7``). That fall says little about the rates, so notebook 3 reads the curve
        from one decade above the first rate on. The result is a new ``RangeTestResult`` (this one
        is unchanged) whose :meth:`suggest`, :meth:`usable_range` and :meth:`plot` read the curve
        that way; its smoothed losses are computed afresh from the rates kept.
        """
        decades = check_real("decades", decades, non_negative=True)
        keep = self.lrs >= self.lrs[0] * 10**decades * (1 - 1e-9)
        if keep.sum() < 2:
            raise ValueError(
                f"decades={decades:g} leaves {int(keep.sum())} of the {len(self.lrs)} rates "
                f"({self.lrs[0]:.3g}..{self.lrs[-1]:.3g}); a curve needs at least 2."
            )
        losses = self.losses[keep]
        return replace(
            self,
            lrs=self.lrs[keep],
            losses=losses,
            smoothed_losses=smooth_losses(losses, beta=self.beta),
        )

    def suggest(self, method: str = "valley", **options) -> float:
        """A suggested rate, read from the raw losses by :func:`course_utils.suggest.suggest_lr`
        (told whether the trials were continuous or independent)."""
        return suggest_lr(self.lrs, self.losses, method=method, trials=self.trials, **options)

    def usable_range(self) -> tuple[float, float]:
        """``(low_lr, high_lr)``: where the loss falls steadily, before instability."""
        return usable_range(self.lrs, self.losses)

    def diagnose(self) -> list:
        """What is incomplete or hard to read in this sweep: :func:`course_utils.suggest.diagnose_sweep`."""
        return diagnose_sweep(self.lrs, self.losses)

    def plot(self, ax=None, methods=("valley",)):
        """Loss against rate on a log axis, with the smoothed curve, suggestions and usable band.

        The sweep's diagnostics (:meth:`diagnose`), if any, are written in a box on the axes.
        """
        if isinstance(methods, str):
            methods = (methods,)
        outcome = self.trials_outcome
        if outcome is not None and len(outcome.momenta) > 1:
            return self._plot_grid(ax)
        suggestions = {name: self.suggest(name) for name in methods}
        ax = plot_sweep(
            self.lrs,
            self.losses,
            smoothed=self.smoothed_losses,
            suggestions=suggestions,
            usable=self.usable_range(),
            ax=ax,
        )
        if outcome is not None and outcome.losses.shape[0] > 1:
            _, low, high = seed_band(self._grid()[:, self._row(), :])
            ax.fill_between(
                self.lrs,
                low,
                high,
                color="tab:blue",
                alpha=0.2,
                linewidth=0,
                label=f"lowest..highest of {outcome.losses.shape[0]} initialisations",
            )
            ax.legend()
        found = self.diagnose()
        if found:
            text = "\n".join(f"warning: {item.code.replace('_', ' ')}" for item in found)
            ax.text(
                0.02,
                0.02,
                text,
                transform=ax.transAxes,
                fontsize="small",
                color="tab:red",
                va="bottom",
                ha="left",
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": "tab:red", "alpha": 0.85},
            )
        return ax

    def _grid(self) -> np.ndarray:
        """The trial grid's losses at this result's rates (a result read ``without_warmup`` keeps fewer)."""
        outcome = self.trials_outcome
        return outcome.losses[:, :, np.isin(outcome.lrs, self.lrs)]

    def _row(self) -> int:
        return int(np.argmin(np.abs(self.trials_outcome.momenta - self.momentum)))

    def _plot_grid(self, ax):
        """Rate × momentum as a heat map of the median loss over seeds, each row's valley circled."""
        outcome = self.trials_outcome
        grid = self._grid()
        median = np.stack([_seed_median(grid[:, row, :]) for row in range(len(outcome.momenta))])
        points = [(lr, value) for value, lr in self.valleys().items() if lr is not None]
        seeds = outcome.losses.shape[0]
        ax = plot_trial_grid(
            self.lrs,
            outcome.momenta,
            median,
            ax=ax,
            momentum_name=outcome.momentum_name,
            marks={"valley of each row": points} if points else None,
        )
        what = f"median of {seeds} initialisations" if seeds > 1 else "one initialisation"
        ax.set_title(f"Independent trials, {outcome.epochs_per_trial} epoch(s) each ({what})")
        return ax

    def summary(self) -> str:
        """A few lines for a person: what was swept, how it ended, and what every rule suggests."""
        lines = [repr(self)]
        for method in SUGGESTION_METHODS:
            try:
                lines.append(f"  {method:<9} {self.suggest(method):.3g}")
            except ValueError as error:
                lines.append(f"  {method:<9} n/a ({error})")
        try:
            low, high = self.usable_range()
            lines.append(f"  usable    {low:.3g} .. {high:.3g}")
        except ValueError:
            pass
        lines += [f"  warning   {item}" for item in self.diagnose()]
        outcome = self.trials_outcome
        if outcome is not None and len(outcome.momenta) > 1:
            for value, lr in self.valleys().items():
                reading = "n/a" if lr is None else f"{lr:.3g}"
                lines.append(f"  valley at {outcome.momentum_name} {value:g}: {reading}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        span = f"{len(self.lrs)} rates {self.lrs[0]:.3g}..{self.lrs[-1]:.3g}" if len(self.lrs) else "no rates"
        finite = self.losses[np.isfinite(self.losses)]
        best = f", lowest loss {finite.min():.4g}" if finite.size else ""
        grid = ""
        outcome = self.trials_outcome
        if outcome is not None and outcome.losses.shape[:2] != (1, 1):
            seeds, momenta, _ = outcome.losses.shape
            grid = f", {seeds} initialisation(s) x {momenta} {outcome.momentum_name} value(s), curve at {self.momentum:g}"
            if seeds > 1:
                grid += " (median)"
        return (
            f"RangeTestResult(per={self.per!r}, trials={self.trials!r}, {span}{best}{grid}, "
            f"{self.stop_reason}, {self.elapsed:.2f} s)"
        )


# ---------------------------------------------------------------------------------------------
# The public entry point


def lr_range_test(
    model,
    dataset,
    *,
    per: str = "batch",
    trials: str = "continuous",
    start_lr: float | None = None,
    end_lr: float | None = None,
    num_rates: int | None = None,
    epochs_per_trial: int = 1,
    momentum=None,
    init_seeds=None,
    beta: float = BETA,
    diverge_factor: float | None = DIVERGE_FACTOR,
    restore: bool = True,
    progress: bool = False,
    verbose: int = 0,
    num_steps: int | None = None,
) -> RangeTestResult:
    """Sweep the learning rate of a compiled Keras model upwards and record the loss at each rate.

    Parameters
    ----------
    model : keras.Model
        A Keras 3 model (TensorFlow backend) compiled with an optimizer and a loss, which train
        the sweep. A model without weights yet is built on the first batch.
    dataset : tf.data.Dataset
        Batches of ``(inputs, targets)`` (or ``(inputs, targets, sample_weights)``), e.g. from
        :func:`course_utils.data.windowed_dataset`. A per-batch sweep repeats it as often as needed.
    per : {"batch", "epoch"}, default "batch"
        ``"batch"`` sets a new rate every optimizer step, following
        :class:`~course_utils.schedules.ExponentialSweep`, and records each batch's own loss
        (Keras' logs hold only the running mean of the epoch); the whole sweep runs as one graph.
        ``"epoch"`` is the lesson's method: ``LearningRateScheduler`` sets one rate per epoch and
        records the epoch's mean loss (what ``history["loss"]`` holds).
    trials : {"continuous", "independent"}, default "continuous"
        ``"continuous"`` trains one model through the rising rates. ``"independent"`` trains every
        rate for ``epochs_per_trial`` epochs from the model's current weights
        (:func:`course_utils.trials.run_independent_trials`); ``per`` does not apply there (each
        trial keeps its rate), and the losses are not smoothed: each comes from its own run, so a
        moving average along the rate axis would only blur unrelated neighbours and shift the
        curve to the right.
    start_lr, end_lr : float, optional
        The first and the last rate. Defaults: per batch ``1e-8`` and ``1e-2``; per epoch and for
        independent trials the lesson's ``1e-8`` and ``1e-8 * 10**(99 / 20)``.
    num_rates : int, optional
        How many rates, spaced evenly on a log axis from ``start_lr`` to ``end_lr``: batches per
        batch (default 1200, 200 per decade), epochs per epoch and trials for independent trials
        (default 100). With none of ``start_lr``, ``end_lr`` and ``num_rates``, a per-epoch sweep or
        independent trials take exactly the lesson's rates, ``1e-8 * 10**(epoch / 20)`` for 100
        epochs (:func:`course_utils.schedules.sweep_rates`). ``num_steps`` is its old name, still
        accepted.
    epochs_per_trial : int, default 1
        How many epochs each independent trial trains (``trials="independent"`` only).
    momentum, init_seeds : sequence, optional
        Independent trials only: sweep the momentum (SGD; Adam: ``beta_1``) and the initial weights
        too, as :func:`course_utils.trials.run_independent_trials` does, every combination a trial
        of the same run. The result's curve (``losses``) is the row at the optimizer's own momentum
        if it was swept, else at the first one (:meth:`RangeTestResult.at_momentum` reads another),
        and the median over the initial weights; ``grid_losses`` holds every trial, and ``plot()``
        draws a heat map of rate × momentum, or the spread over the seeds as a band.
    beta : float, default 0.98
        Weight of the debiased moving average of the loss
        (:func:`course_utils.suggest.smooth_losses`), ``0 <= beta < 1``: the result's
        ``smoothed_losses`` and, per batch, the curve the stop rule watches.
    diverge_factor : float or None, default 4.0
        Per batch, the sweep stops as soon as the moving average exceeds ``diverge_factor`` times
        its best value so far, or stops being finite; ``None`` stops only on a non-finite loss.
        Must be greater than 1. The best value counts once the average has taken in one window of
        batches, ``1 / (1 - beta)`` (50 by default), so a lucky first batch cannot stop the sweep.
    restore : bool, default True
        Put back the model's weights and its optimizer's variables (step count, rate, momentum)
        afterwards, bit for bit.
    progress : bool, default False
        Show a tqdm progress bar.
    verbose : int, default 0
        Passed to ``fit`` per epoch; per batch, a non-zero value prints the result's summary line.

    Returns
    -------
    RangeTestResult
        The rates reached and their losses (raw and smoothed), how the sweep ended and how long it
        took; its ``suggest()``, ``usable_range()``, ``plot()`` and ``summary()`` read the curve.

    Notes
    -----
    The per-batch defaults open the sweep before anything happens, as the lesson's sweep does,
    and reach divergence long before their end on the course's data and models: the end only
    bounds the run (``benchmarks/bench_range_test.py`` prints where the course's sweep starts to
    fall and where it stops, against the rates that train well when fixed). 200 steps per decade
    keep the moving average's lag (about ``1 / (1 - beta)`` = 50 steps) near a quarter of a
    decade, so smoothing moves the curve little to the right. A model whose loss already falls at
    the first step wants a lower ``start_lr``.

    Examples
    --------
    >>> from course_utils import build_dense_model, compile_model, synthetic_series, windowed_dataset
    >>> time, series = synthetic_series()
    >>> model = compile_model(build_dense_model(seed=0), lr=1e-8)
    >>> dataset = windowed_dataset(series[:1000], seed=0)
    >>> result = lr_range_test(model, dataset)              # per batch, stops once the loss diverges
    >>> lr = result.suggest()                               # the valley: a rate to train with
    >>> low, high = result.usable_range()                   # the band the plot shades
    >>> ax = result.plot()
    >>> lesson = lr_range_test(model, dataset, per="epoch")  # the lesson's 100 epochs
    >>> trials = lr_range_test(model, dataset, per="epoch", trials="independent")
    >>> grid = lr_range_test(model, dataset, trials="independent", momentum=[0, 0.5, 0.9], init_seeds=range(5))
    >>> ax = grid.plot()                                    # a heat map, each momentum's valley circled
    """
    num_rates, rates_name = renamed("num_rates", num_rates, "num_steps", num_steps)
    plan = _plan(
        per,
        trials,
        start_lr,
        end_lr,
        num_rates,
        rates_name,
        epochs_per_trial,
        beta,
        diverge_factor,
        momentum,
        init_seeds,
    )
    for name, value in (("restore", restore), ("progress", progress)):
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__}).")
    verbose = check_int("verbose", verbose, minimum=0)
    check_compiled_model(model)
    check_dataset(dataset, model)

    continuous = plan.trials == "continuous"
    if continuous:
        _prepare(model, dataset)
    snapshot = _snapshot(model) if continuous and restore else None
    run = _RUNNERS[plan.per if continuous else "independent"]
    began = time.perf_counter()
    try:
        recorded = run(model, dataset, plan, progress=progress, verbose=verbose)
    finally:
        if snapshot is not None:
            _restore(snapshot)
    result = _result(plan, recorded, elapsed=time.perf_counter() - began)
    if verbose and plan.per == "batch" and continuous:
        print(repr(result))
    return result


# ---------------------------------------------------------------------------------------------
# The plan: the rates, and how the sweep may stop early


@dataclass(frozen=True)
class _SweepPlan:
    """What a sweep will do: the rates it plans, in order, and how it may stop early."""

    per: str
    trials: str
    lrs: np.ndarray
    #: Weight of the moving average (the smoothed curve, and the per-batch stop rule's);
    #: None: the losses are not smoothed (independent trials).
    beta: float | None
    #: Per batch: stop once the smoothed loss exceeds this times its best (None: only when it
    #: is not finite). The other sweeps run every planned rate.
    diverge_factor: float | None
    epochs_per_trial: int = 1
    #: Independent trials: the grid's other axes (checked by run_independent_trials).
    momentum: object = None
    init_seeds: object = None


def _plan(
    per,
    trials,
    start_lr,
    end_lr,
    num_rates,
    rates_name,
    epochs_per_trial,
    beta,
    diverge_factor,
    momentum,
    init_seeds,
):
    """Check the sweep's arguments and fill in its defaults: the one place a plan is made."""
    per = check_choice("per", per, PER_CHOICES)
    trials = check_choice("trials", trials, TRIALS_CHOICES)
    if trials == "continuous":
        for name, value in (("momentum", momentum), ("init_seeds", init_seeds)):
            if value is not None:
                raise ValueError(
                    f"{name} applies to trials='independent' only (a continuous sweep trains one model at its "
                    f"optimizer's momentum); got {name}={value!r} with trials='continuous'."
                )
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if value is not None:
            check_real(name, value, positive=True)
    if num_rates is not None:
        check_int(rates_name, num_rates, minimum=2)
    epochs_per_trial = check_int("epochs_per_trial", epochs_per_trial, minimum=1)
    if trials == "continuous" and epochs_per_trial != 1:
        raise ValueError(
            f"epochs_per_trial applies to trials='independent' only; got epochs_per_trial={epochs_per_trial} "
            "with trials='continuous'."
        )
    beta = check_real("beta", beta, non_negative=True, below=1.0)
    if diverge_factor is not None:
        diverge_factor = check_real("diverge_factor", diverge_factor, positive=True)
        if diverge_factor <= 1:
            raise ValueError(
                f"diverge_factor must be greater than 1 (a multiple of the best loss); got {diverge_factor!r}."
            )

    per_batch = per == "batch" and trials == "continuous"
    if not per_batch and start_lr is None and end_lr is None and num_rates is None:
        lrs = sweep_rates(LESSON_NUM_EPOCHS, LESSON_START_LR, LESSON_EPOCHS_PER_DECADE)
    else:
        if per_batch:
            default_start, default_end, default_count = BATCH_START_LR, BATCH_END_LR, BATCH_NUM_RATES
        else:
            default_start, default_end, default_count = LESSON_START_LR, LESSON_END_LR, LESSON_NUM_EPOCHS
        start, end = check_rate_range(
            "start_lr",
            default_start if start_lr is None else start_lr,
            "end_lr",
            default_end if end_lr is None else end_lr,
        )
        lrs = geometric_rates(start, end, default_count if num_rates is None else num_rates)
    return _SweepPlan(
        per=per,
        trials=trials,
        lrs=lrs,
        beta=beta if trials == "continuous" else None,
        diverge_factor=diverge_factor,
        epochs_per_trial=epochs_per_trial,
        momentum=momentum,
        init_seeds=init_seeds,
    )


# ---------------------------------------------------------------------------------------------
# The model as it was: build it, snapshot it, restore it


def _prepare(model, dataset):
    """Build the model (on the first batch, if it has no weights yet) and its optimizer.

    Building first means every variable the sweep touches exists before the snapshot, so an
    optimizer that had never run gets its fresh (zero) slots back afterwards. The first batch is
    read even when the model is built: a data set that reshuffles on every pass has then moved
    on by one pass, as it always has here, so a sweep sees the batches it always saw.
    """
    batch = next(iter(dataset))
    if not model.built or not model.weights:
        x, _, _ = keras.utils.unpack_x_y_sample_weight(batch)
        model(x)
    optimizer = model.optimizer
    if not optimizer.built:
        # fit() builds it the same way.
        optimizer.build(model.trainable_variables)


def _snapshot(model):
    variables = list(model.weights) + list(model.optimizer.variables)
    return variables, [variable.numpy() for variable in variables]


def _restore(snapshot):
    variables, values = snapshot
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


# ---------------------------------------------------------------------------------------------
# The runners: one per kind of sweep, one shape of answer


@dataclass(frozen=True)
class _SweepRun:
    """What a runner recorded: the rates it reached, their losses, and why it ended."""

    lrs: np.ndarray
    losses: np.ndarray
    stop_reason: str = STOP_COMPLETED
    trials_outcome: TrialsOutcome | None = None
    momentum: float | None = None


def _run_per_batch(model, dataset, plan: _SweepPlan, *, progress: bool, verbose: int) -> _SweepRun:
    """One rate per optimizer step, as one graph (:mod:`course_utils._sweep_graph`)."""
    schedule = ExponentialSweep(plan.lrs[0], plan.lrs[-1], len(plan.lrs))
    bar = _progress_bar(progress, len(plan.lrs), "range test (per batch)")
    stop_reason = STOP_COMPLETED
    try:
        # Chunks only exist to move the progress bar; without it the whole sweep is one call.
        losses, stop_reason = sweep_per_batch(
            model,
            dataset,
            schedule,
            plan.beta,
            plan.diverge_factor,
            chunk=None if bar is None else max(1, math.ceil(len(plan.lrs) / 20)),
            on_chunk=None if bar is None else bar.update,
        )
    finally:
        if bar is not None:
            if stop_reason != STOP_COMPLETED:
                bar.set_postfix_str(stop_reason)
            bar.close()
    return _SweepRun(plan.lrs[: losses.size], losses, stop_reason)


def _run_per_epoch(model, dataset, plan: _SweepPlan, *, progress: bool, verbose: int) -> _SweepRun:
    """The lesson's method: ``fit`` with ``LearningRateScheduler``, one rate per epoch."""
    lrs = plan.lrs
    callbacks = [keras.callbacks.LearningRateScheduler(lambda epoch: float(lrs[epoch]))]
    bar = _progress_bar(progress, len(lrs), "range test (per epoch)")
    if bar is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: bar.update(1)))
    try:
        with SettableRate(model.optimizer):
            history = model.fit(dataset, epochs=len(lrs), callbacks=callbacks, verbose=verbose)
    finally:
        if bar is not None:
            bar.close()
    return _SweepRun(lrs, np.asarray(history.history["loss"], dtype=float))


def _run_independent(model, dataset, plan: _SweepPlan, *, progress: bool, verbose: int) -> _SweepRun:
    """Every rate from the same starting weights: the trials module trains them all at once."""
    bar = _progress_bar(progress, 1, "range test (independent trials)")
    try:
        outcome = run_independent_trials(
            model,
            dataset,
            plan.lrs,
            momentum=plan.momentum,
            init_seeds=plan.init_seeds,
            epochs_per_trial=plan.epochs_per_trial,
        )
    finally:
        if bar is not None:
            bar.update(1)
            bar.close()
    # The curve: the optimizer's own momentum if it was swept, else the first one.
    row = _momentum_row(outcome.momenta, model_momentum(model.optimizer)) or 0
    curve = _seed_median(outcome.losses[:, row, :])
    return _SweepRun(plan.lrs, curve, trials_outcome=outcome, momentum=float(outcome.momenta[row]))


_RUNNERS = {"batch": _run_per_batch, "epoch": _run_per_epoch, "independent": _run_independent}


def _progress_bar(progress: bool, total: int, description: str):
    return tqdm(total=total, desc=description, unit="rate") if progress else None


# ---------------------------------------------------------------------------------------------
# The result


def _result(plan: _SweepPlan, run: _SweepRun, elapsed: float) -> RangeTestResult:
    """The one builder of a :class:`RangeTestResult`, from the plan and what the runner recorded."""
    smoothed = run.losses.copy() if plan.beta is None else smooth_losses(run.losses, beta=plan.beta)
    return RangeTestResult(
        lrs=np.asarray(run.lrs, dtype=float),
        losses=run.losses,
        smoothed_losses=smoothed,
        per=plan.per,
        trials=plan.trials,
        elapsed=elapsed,
        num_rates=len(plan.lrs),
        stop_reason=run.stop_reason,
        beta=0.0 if plan.beta is None else plan.beta,
        trials_outcome=run.trials_outcome,
        momentum=run.momentum,
    )


def _momentum_row(momenta: np.ndarray, value: float) -> int | None:
    """The index of ``value`` among the swept momenta, or None."""
    matches = np.flatnonzero(np.isclose(momenta, value, rtol=0, atol=1e-12))
    return int(matches[0]) if matches.size else None


def _seed_median(losses: np.ndarray) -> np.ndarray:
    """The median over the seeds (axis 0) of a trial grid's losses, a diverged seed counting as worse than any.

    With one seed that is its row, as recorded (a diverged trial keeps its NaN or inf).
    """
    losses = np.asarray(losses, dtype=float)
    if losses.shape[0] == 1:
        return losses[0].copy()
    return np.asarray(seed_band(losses)[0], dtype=float)
