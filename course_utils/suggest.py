"""Read a learning-rate sweep: smooth the curve, find the usable part, suggest a rate.

A sweep trains while the rate grows, so its curve mixes two things: how well each rate trains
and how much training has already happened. The course uses one definition throughout: **the
valley** is the stretch of the curve where the smoothed loss still falls steadily, from where it
has clearly started to fall up to its lowest point before the curve turns unstable; the *usable
range* (:func:`usable_range`, the band the plots shade) is that stretch, and a rate to train with
is chosen inside it, clearly below the lowest point. The rules here read the curve that way:

1. smooth the log-loss with a *centred* running median, so that noise is tamed without moving
   the curve to the right (an exponential moving average lags, and its minimum with it);
2. find where the curve turns unstable: the first lasting rise clearly above the best loss so
   far, judged against the local noise. Divergence is read from the shape, not from NaN alone:
   a run whose ReLU units died settles on a plateau (and may even fall again) without NaN;
3. the *bottom* is the lowest smoothed loss before that point, the usable range runs from
   where the loss clearly starts to fall up to the bottom. A rate already too high takes some
   batches to show in the loss, so a sweep reads its bottom late by about that many of its
   steps: the default suggestion goes back 14 steps from the bottom and then divides by 2.5
   (a third of the bottom's rate at 200 steps per decade, a seventh at 30): far enough below
   the edge for a whole training run at one fixed rate, close enough to still train fast;
4. except on a smooth curve (epoch means of a cumulative per-epoch sweep, told apart from
   single-batch losses by how rough the curve is): there the model has trained for many epochs
   before the rate reaches the good band, which then lies close to the bottom, so the default
   reads a tenth of the rate where a lagging moving average bottoms out (a third of it if the
   loss blew up to NaN or inf: an edge that hard lets the good band reach closer to it), kept
   inside the usable range;
5. a sweep that ended before the instability (no rise, no NaN, the loss still falling at its
   last rates) says nothing about where the good band ends: the default is then the bottom
   (smooth curves) or two thirds of it (noisy ones), near the end of the range, and
   :func:`diagnose_sweep` says to extend ``end_lr``.

:func:`diagnose_sweep` checks that a sweep is complete and readable (it ended before the
instability, started too late, has too few finite points, is too noisy), each finding with what
to do about it.

NaN and inf losses (a diverged tail) end the readable curve and never crash anything.
How well the default does against other finders is measured by ``benchmarks/bench_suggest.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_utils._validate import (
    as_1d_float_array,
    check_choice,
    check_real,
    check_same_length,
    check_sweep_rates,
)
from course_utils.defaults import TRIALS_CHOICES
from course_utils.other_finders import OTHER_FINDERS, other_finder_rate

#: The rules :func:`suggest_lr` knows, default first.
SUGGESTION_METHODS = ("valley", "steepest", "minimum")

#: A curve needs at least this many finite losses before any rule can read it.
MIN_POINTS = 5

#: Width of the centred running median, in decades of rate.
SMOOTHING = 0.3

#: A rise of the smoothed loss above its best by this fraction (25 %) may mark the instability...
RISE = 0.25

#: ...if it also exceeds this many standard deviations of the smoothed curve's local noise...
NOISE_Z = 4.0

#: ...and lasts this many decades of rate (or until the sweep ends).
PERSIST = 0.3

#: Defaults of the rules: on a noisy curve the valley is the bottom's rate, moved back by
#: ``REACTION_STEPS``, divided by 2.5; "minimum" divides the bottom's rate by 10.
VALLEY_DIVISOR = 2.5
MINIMUM_DIVISOR = 10.0

#: On a noisy curve the bottom is read this many steps of the sweep late: at a rate already too
#: high the loss takes some steps to turn up, so a sweep with few steps per decade shows its
#: bottom further past the good rates than a dense one (14 steps: 0.07 decades at 200 steps per
#: decade, 0.47 at 30).
REACTION_STEPS = 14.0

#: On a smooth curve the valley is the lagging average's bottom divided by this...
SMOOTH_DIVISOR = 10.0
#: ...or by this if the loss blew up to NaN/inf: an edge that hard lets the good band reach
#: closer to the bottom than a gentle rise does.
DIVERGED_DIVISOR = 3.0

#: A sweep that never turned up and whose bottom lies this close (decades) to its last rate
#: ended before the instability: the valley is then the bottom's rate divided by
#: ``UNFINISHED_DIVISOR`` on a smooth curve, ``NOISY_UNFINISHED_DIVISOR`` on a noisy one (the
#: good band is at the end of such a sweep or past it; nothing was read late, so no steps back).
UNFINISHED_TAIL = 0.3
UNFINISHED_DIVISOR = 1.0
NOISY_UNFINISHED_DIVISOR = 1.5

#: Below this roughness a curve is read as epoch means of a cumulative sweep (white noise, as in
#: single-batch losses, scores about 1.7; the lesson's per-epoch sweeps score 0.05-1.3).
SMOOTH_CURVE = 1.0

#: The lagging reading used on smooth curves: a debiased moving average with this beta, cut
#: where it exceeds ``LAG_STOP`` times its best, first 10 % and last 5 points left out.
LAG_BETA = 0.98
LAG_STOP = 4.0


def smooth_losses(losses, beta: float = 0.98) -> np.ndarray:
    """Debiased exponential moving average of ``losses``, as range tests usually plot it.

    NaN and inf values are skipped (they do not poison the average) and stay NaN in the result,
    so a diverged tail shows as a gap. ``beta=0`` returns the finite losses unchanged. The
    average only looks backwards, so it lags the raw curve: the heavier the smoothing, the
    further right the minimum appears. That is why :func:`suggest_lr` reads the raw losses with
    a centred smoother of its own instead.
    """
    losses = as_1d_float_array("losses", losses, min_length=0)
    beta = check_real("beta", beta, non_negative=True, below=1.0)
    smoothed = np.full(losses.shape, np.nan)
    average, weight = 0.0, 0.0
    for index, value in enumerate(losses):
        if not math.isfinite(value):
            continue
        average = beta * average + (1 - beta) * value
        weight = beta * weight + (1 - beta)
        smoothed[index] = average / weight
    return smoothed


# ---------------------------------------------------------------------------------------------
# Reading a curve


def _check_curve(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    """Validate a sweep and return the part a rule may read (rates, losses), all finite."""
    lrs = as_1d_float_array("lrs", lrs)
    losses = as_1d_float_array("losses", losses)
    check_same_length("lrs", lrs, "losses", losses)
    check_sweep_rates(lrs)
    finite = np.isfinite(losses)
    if finite.sum() < MIN_POINTS:
        raise ValueError(
            f"losses must hold at least {MIN_POINTS} finite values to suggest a rate; "
            f"got {int(finite.sum())} finite out of {len(losses)}."
        )
    # A loss that became NaN/inf means the run diverged there: nothing after it can be trusted.
    first_bad = len(losses) if finite.all() else int(np.argmin(finite))
    if first_bad >= MIN_POINTS:
        return lrs[:first_bad], losses[:first_bad]
    # NaN early and finite values after it: not a sweep that diverged; read what is finite.
    return lrs[finite], losses[finite]


def _centred_windows(
    log_lrs: np.ndarray, width_decades: float, min_side: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the slice ``[low, high)`` of its neighbours within ``width_decades / 2``.

    At least ``min_side`` neighbours on each side are taken, so that coarse sweeps (few points
    per decade) are smoothed too.
    """
    half = width_decades / 2
    index = np.arange(len(log_lrs))
    low = np.searchsorted(log_lrs, log_lrs - half, side="left")
    high = np.searchsorted(log_lrs, log_lrs + half, side="right")
    low = np.maximum(np.minimum(low, index - min_side), 0)
    high = np.minimum(np.maximum(high, index + min_side + 1), len(log_lrs))
    return low, high


def _window_apply(values: np.ndarray, low: np.ndarray, high: np.ndarray, statistic) -> np.ndarray:
    """``statistic(values[low[i]:high[i]])`` for every ``i``, computed for all windows of one
    length at once (a sweep has only a few distinct window lengths)."""
    result = np.zeros(len(low))
    lengths = high - low
    for length in np.unique(lengths):
        rows = np.flatnonzero(lengths == length)
        if length == 0:
            continue
        windows = values[low[rows, None] + np.arange(length)]
        result[rows] = statistic(windows)
    return result


def _centred_median(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Median of each window: centred, so no shift to the right; a median, so one wild batch
    does not fake a rise."""
    return _window_apply(values, low, high, lambda windows: np.median(windows, axis=1))


def _robust_spread(windows: np.ndarray) -> np.ndarray:
    deviations = np.abs(windows - np.median(windows, axis=1, keepdims=True))
    return 1.4826 * np.median(deviations, axis=1)


def _local_noise(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Robust standard deviation of the point-to-point noise inside each window.

    Local, because a sweep's noise changes along the curve: while the model is poor every batch
    scores alike, once it fits the batches differ much more. Differences between neighbours
    leave the curve's own trend out.
    """
    steps = np.diff(values)
    step_high = np.maximum(high - 1, low)
    noise = _window_apply(steps, low, step_high, _robust_spread) / math.sqrt(2)
    noise[step_high - low < 2] = 0.0
    return noise


def _running_argmin(values: np.ndarray) -> np.ndarray:
    """Index of the lowest value among ``values[: i + 1]``, for every ``i``."""
    best = np.zeros(len(values), dtype=int)
    for index in range(1, len(values)):
        best[index] = index if values[index] < values[best[index - 1]] else best[index - 1]
    return best


@dataclass(frozen=True)
class _Reading:
    """A sweep read once: positions on the log axis, the smoothed curve and its landmarks."""

    lrs: np.ndarray
    losses: np.ndarray  # the readable (finite) part of the raw losses
    log_lrs: np.ndarray
    smoothed: np.ndarray  # log of the loss (the loss itself if some are <= 0), smoothed
    start: int  # first point where the loss has clearly fallen below where it began
    bottom: int  # lowest smoothed loss before the instability
    edge: int  # first point of the instability (the last point if the curve never turns up)
    cut: bool = False  # the sweep went on past the readable part (a NaN/inf loss ended it)

    @property
    def unfinished(self) -> bool:
        """The sweep ended before the instability: no rise, no NaN, still falling near the end."""
        last = len(self.lrs) - 1
        return (
            not self.cut
            and self.edge == last
            and self.log_lrs[last] - self.log_lrs[self.bottom] <= UNFINISHED_TAIL
        )

    @property
    def step(self) -> float:
        """The sweep's step between neighbouring rates, in decades (the median step)."""
        return float(np.median(np.diff(self.log_lrs))) if len(self.log_lrs) > 1 else 0.0

    def rate_at(self, position: float) -> float:
        """The rate at ``position`` (log10) on the axis, kept inside the swept range."""
        position = min(max(position, self.log_lrs[0]), self.log_lrs[-1])
        return float(min(max(10**position, self.lrs[0]), self.lrs[-1]))


@np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore")
def _read(lrs, losses, smoothing: float = SMOOTHING, rise: float = RISE) -> _Reading:
    length = len(losses) if hasattr(losses, "__len__") else 0
    lrs, losses = _check_curve(lrs, losses)
    cut = len(losses) < length
    smoothing = check_real("smoothing", smoothing, non_negative=True)
    rise = check_real("rise", rise, positive=True)
    log_lrs = np.log10(lrs)
    if np.all(losses > 0):
        # On a log scale a rise of 25 % means the same for a loss of 500 and one of 0.05.
        values, margin = np.log(losses), math.log1p(rise)
    else:
        # Some losses are <= 0 (a custom loss): read them on a linear scale, brought to [-1, 1]
        # so that nothing below overflows, with the margin a fraction of the curve's span.
        values = losses / max(float(np.max(np.abs(losses))), np.finfo(float).tiny)
        margin = rise * max(float(np.ptp(values)), np.finfo(float).tiny)
    if smoothing > 0:
        low, high = _centred_windows(log_lrs, smoothing)
        smoothed = _centred_median(values, low, high)
        # A median of k noisy points wanders by about 1.25 sigma / sqrt(k); sigma is measured
        # over a wider window so that it is itself steady.
        noise = _local_noise(values, *_centred_windows(log_lrs, 3 * smoothing, min_side=8))
        noise = 1.25 * noise / np.sqrt(high - low)
    else:
        smoothed, noise = values.copy(), np.zeros(len(values))
    running_min = np.minimum.accumulate(smoothed)
    # The best point so far and the current one each carry their own noise.
    margin = np.maximum(margin, NOISE_Z * np.maximum(noise, noise[_running_argmin(smoothed)]))
    # Instability: the smoothed loss climbs clearly above the best so far, once the loss has
    # clearly fallen (a wobble at the start, before any progress, is not instability), and
    # stays above the best plus half the margin for PERSIST decades (a spike is not the edge).
    candidates = np.flatnonzero((smoothed > running_min + margin) & (smoothed[0] - running_min > margin))
    ends = np.searchsorted(log_lrs, log_lrs + PERSIST, side="right")
    edge = len(smoothed) - 1
    for index in candidates:
        if np.all(smoothed[index : ends[index]] > running_min[index] + margin[index] / 2):
            edge = int(index)
            break
    bottom = int(np.argmin(smoothed[: edge + 1]))
    fallen = smoothed[: bottom + 1] < smoothed[0] - margin[: bottom + 1]
    start = int(np.argmax(fallen)) if fallen.any() else 0
    return _Reading(lrs, losses, log_lrs, smoothed, start, bottom, edge, cut)


def _roughness(values: np.ndarray) -> float:
    """How noisy a curve is: median |second difference| over median |first difference|.

    Computed over the first 60 % of the curve (before any blow-up). A smooth trend scores near
    0, independent noise about 1.7: single-batch losses score high, epoch means low.
    """
    head = values[: max(MIN_POINTS, int(0.6 * len(values)))]
    first = np.median(np.abs(np.diff(head)))
    second = np.median(np.abs(np.diff(head, 2))) if len(head) > 2 else 0.0
    return float(second / first) if first > 0 else 0.0


def _is_smooth(reading: _Reading) -> bool:
    """Epoch means of a cumulative sweep (smooth) rather than single-batch losses (noisy)?"""
    return bool(np.all(reading.losses > 0) and _roughness(np.log(reading.losses)) < SMOOTH_CURVE)


def _lagged_bottom(lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate where a lagging (debiased, beta 0.98) average of the loss is lowest.

    On a cumulative per-epoch sweep the model is already trained when the rate reaches the good
    band, which often lies at or past the raw curve's bottom; the lag of the average moves the
    reading that way. This is the curve fastai's ``minimum`` rule reads. Losses must be > 0.
    """
    smoothed = smooth_losses(losses / np.max(losses), LAG_BETA)  # scaled: no overflow near 1e308
    best = np.minimum.accumulate(smoothed)
    over = np.flatnonzero(smoothed > LAG_STOP * best)
    stop = int(over[0]) + 1 if len(over) else len(smoothed)
    first, last = len(smoothed) // 10, max(stop - 5, len(smoothed) // 10 + 1)
    return float(lrs[first + int(np.argmin(smoothed[first:last]))])


# ---------------------------------------------------------------------------------------------
# Public rules

_OPTIONS = {
    "valley": {"smoothing", "rise", "divisor"},
    "steepest": {"smoothing", "rise"},
    "minimum": {"smoothing", "rise", "divisor"},
}


def suggest_lr(lrs, losses, method: str = "valley", *, trials: str = "continuous", **options) -> float:
    """Suggest a learning rate from a sweep (``losses[i]`` recorded at rate ``lrs[i]``).

    Methods:

    - ``"valley"`` (default): on a noisy curve (single-batch losses, ``per="batch"``), the
      bottom of the valley (the lowest smoothed loss before the curve turns unstable) moved back
      14 steps of the sweep, because a rate already too high takes some batches to show in the
      loss, then divided by 2.5: a third of the bottom's rate on a sweep of 200 steps per
      decade, a seventh on one of 30. The loss still falls steadily there, clear of the
      instability.
      On a smooth curve (epoch means, the lesson's cumulative per-epoch sweep) the model is
      already trained when the rate reaches the good band, so the reading moves right: a tenth
      of the rate where a lagging average of the loss is lowest (the average's lag moves its
      bottom right; dividing by ten more than undoes that), or a third of it if the loss blew
      up to NaN or inf (a hard edge: the good band reaches closer to it). If a sweep ended
      before the loss turned up (see :func:`diagnose_sweep`), the good band lies at its end or
      past it, and the valley is the bottom itself (two thirds of it on a noisy curve), near the
      last rate. Either way the result is kept inside the usable range, the valley (see
      :func:`usable_range`).
    - ``"steepest"``: the rate where the smoothed loss falls fastest (relative to its size) per
      decade of rate, looking only before the bottom.
    - ``"minimum"``: the rate at the bottom divided by 10, the usual rule of thumb
      (``divisor=1`` gives the bottom itself).
    - ``"fastai_valley"``, ``"fastai_steep"``, ``"fastai_minimum"``, ``"lrfinder_steepest"``:
      what fastai's and pytorch-lr-finder's finders would suggest for this sweep, each with its
      library's own smoothing and stop (:mod:`course_utils.other_finders`), to compare with.

    Pass the raw losses (per batch or per epoch): every rule reads a centred running median of
    the log-loss, ``smoothing`` decades wide (default 0.3). ``rise`` (default 0.25) is how far
    above its best the smoothed loss must climb to mark the instability; ``divisor`` changes the
    valley's 2.5 (on noisy curves that turned up) or the minimum's 10. Losses from the first
    NaN/inf on are ignored. The result is always within ``[lrs[0], lrs[-1]]``.

    ``trials`` says how the curve was recorded, as in :func:`~course_utils.range_test.lr_range_test`:
    ``"continuous"`` (one model through rising rates, the default) or ``"independent"`` (every rate
    from the same fresh weights). Only a continuous sweep reads its bottom late and meets a NaN
    after its weights were already trained, so on independent trials the valley takes no steps
    back and reads a tenth of the lagging bottom whether or not some trials diverged.
    """
    method = check_choice("method", method, SUGGESTION_METHODS + OTHER_FINDERS)
    trials = check_choice("trials", trials, TRIALS_CHOICES)
    unknown = set(options) - _OPTIONS.get(method, set())
    if unknown:
        raise TypeError(
            f"suggest_lr(method={method!r}) takes options {sorted(_OPTIONS.get(method, set()))}; "
            f"got {sorted(unknown)}."
        )
    if method in OTHER_FINDERS:
        _check_curve(lrs, losses)  # the same checks and errors as the course's own rules
        lrs, losses = as_1d_float_array("lrs", lrs), as_1d_float_array("losses", losses)
        return other_finder_rate(method, lrs, losses)
    reading = _read(lrs, losses, options.get("smoothing", SMOOTHING), options.get("rise", RISE))
    if method == "steepest":
        stop = max(reading.bottom, 1)
        with np.errstate(over="ignore", invalid="ignore"):
            slopes = np.diff(reading.smoothed[: stop + 1]) / np.diff(reading.log_lrs[: stop + 1])
        return float(reading.lrs[int(np.nanargmin(slopes))] if np.isfinite(slopes).any() else reading.lrs[0])
    default = VALLEY_DIVISOR if method == "valley" else MINIMUM_DIVISOR
    divisor = check_real("divisor", options.get("divisor", default), positive=True)
    if method == "valley":
        if trials == "independent":
            return _valley(
                reading, noisy_divisor=divisor, reaction_steps=0.0, diverged_divisor=SMOOTH_DIVISOR
            )
        return _valley(reading, noisy_divisor=divisor)
    return reading.rate_at(reading.log_lrs[reading.bottom] - math.log10(divisor))


def _valley(
    reading: _Reading,
    noisy_divisor: float = VALLEY_DIVISOR,
    smooth_divisor: float = SMOOTH_DIVISOR,
    unfinished_divisor: float = UNFINISHED_DIVISOR,
    smooth_reading: str = "lagged",
    reaction_steps: float = REACTION_STEPS,
    noisy_unfinished_divisor: float = NOISY_UNFINISHED_DIVISOR,
    diverged_divisor: float = DIVERGED_DIVISOR,
) -> float:
    """The default rule, with its constants as arguments (the benchmark tunes them per fold).

    ``smooth_reading`` is what a smooth curve's valley divides: ``"lagged"`` (the lagging
    average's bottom) or ``"bottom"`` (the centred median's bottom, as on noisy curves).
    """
    bottom = reading.log_lrs[reading.bottom]
    smooth = _is_smooth(reading)
    if reading.unfinished:
        # the loss still fell at the last rate: the good band is near the end or past it
        position = bottom - math.log10(unfinished_divisor if smooth else noisy_unfinished_divisor)
    elif smooth:
        reference = bottom
        if smooth_reading == "lagged":
            reference = math.log10(_lagged_bottom(reading.lrs, reading.losses))
        # a loss that blew up to NaN/inf marks a hard edge: the good band reaches closer to it
        position = reference - math.log10(diverged_divisor if reading.cut else smooth_divisor)
    else:  # a noisy curve that turned up: its bottom was read late by the loss's reaction
        position = bottom - reaction_steps * reading.step - math.log10(noisy_divisor)
    position = min(max(position, reading.log_lrs[reading.start]), bottom)
    return reading.rate_at(position)


# ---------------------------------------------------------------------------------------------
# Diagnostics: is the sweep complete and readable?

#: Fewer readable (finite, before the first NaN/inf) losses than this: too few to read reliably.
FEW_POINTS = 20

#: A sweep "started too late" when its smoothed loss falls by more than the instability margin
#: (25 %) over its first ``LATE_STRETCH`` decades and bottoms out less than ``LATE_SPAN`` decades
#: past the first rate: it began inside the valley, so where the fall starts was never seen.
LATE_STRETCH = 0.3
LATE_SPAN = 1.5

#: Too noisy to read: the valley's whole fall is less than this many times the step-to-step
#: noise (robust standard deviation of the log-loss around its centred median).
NOISY_RATIO = 4.0


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a sweep: a short ``code`` and a ``message`` that says what to do."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


#: The codes :func:`diagnose_sweep` can return.
DIAGNOSTIC_CODES = ("too_few_points", "ended_before_instability", "started_too_late", "too_noisy")


def diagnose_sweep(lrs, losses) -> list[Diagnostic]:
    """Check that a sweep is complete and readable; an empty list means nothing to warn about.

    - ``too_few_points``: fewer than 20 readable losses (finite, before the first NaN/inf);
    - ``ended_before_instability``: the loss still fell at the last rate, with no rise and no NaN:
      the good band may lie at the end of the range or past it (extend ``end_lr``);
    - ``started_too_late``: the loss already fell fast at the first rate and bottomed out within
      1.5 decades: the sweep began inside the valley (lower ``start_lr``);
    - ``too_noisy``: the batch-to-batch noise is over a quarter of the valley's whole fall (sweep
      more steps, a larger batch, or ``per="epoch"``).

    Validates like :func:`suggest_lr` (bad rates or types raise), but too few finite losses is a
    diagnostic here, not an error. ``course lr-find``, ``RangeTestResult.summary()`` and
    ``.plot()`` show these same checks.
    """
    lrs = as_1d_float_array("lrs", lrs)
    losses = as_1d_float_array("losses", losses)
    check_same_length("lrs", lrs, "losses", losses)
    check_sweep_rates(lrs)
    finite = np.isfinite(losses)
    readable = len(losses) if finite.all() else int(np.argmin(finite))
    if finite.sum() < MIN_POINTS or readable < FEW_POINTS:
        where = "" if finite.all() else f"; a NaN/inf loss at lr {lrs[readable]:.3g} ended the curve"
        return [
            Diagnostic(
                "too_few_points",
                f"only {readable} of {len(losses)} losses are readable{where}. At least {FEW_POINTS} "
                "are needed to read a sweep: sweep more rates (num_rates), or lower end_lr if it diverged early.",
            )
        ]
    reading = _read(lrs, losses)
    found = []
    if reading.unfinished:
        last = float(reading.lrs[-1])
        found.append(
            Diagnostic(
                "ended_before_instability",
                f"the loss was still falling at the last rate ({last:.3g}): the sweep ended before the "
                "loss turned up, so the good rates may lie at the end of the range or past it. "
                f"Extend end_lr (e.g. to {10 * last:.3g}) and sweep again; until then the suggestion "
                "is a rate near the end.",
            )
        )
    values = np.log(reading.losses) if np.all(reading.losses > 0) else reading.losses
    first = max(
        int(np.searchsorted(reading.log_lrs, reading.log_lrs[0] + LATE_STRETCH, side="right")), MIN_POINTS
    )
    first = min(first, len(values) - 1)
    span = reading.log_lrs[reading.bottom] - reading.log_lrs[0]
    if reading.smoothed[0] - reading.smoothed[first] > math.log1p(RISE) and span < LATE_SPAN:
        found.append(
            Diagnostic(
                "started_too_late",
                f"the loss was already falling fast at the first rate ({reading.lrs[0]:.3g}) and "
                f"bottomed out {span:.1f} decades later: the sweep started inside the valley, so where "
                f"the fall begins was never seen. Lower start_lr (e.g. to {reading.lrs[0] / 100:.3g}).",
            )
        )
    part = slice(0, reading.edge + 1)
    residuals = (values - reading.smoothed)[part]
    noise = 1.4826 * float(np.median(np.abs(residuals - np.median(residuals))))
    depth = float(reading.smoothed[0] - reading.smoothed[reading.bottom])
    if noise > 0 and depth < NOISY_RATIO * noise:
        found.append(
            Diagnostic(
                "too_noisy",
                "the loss jumps so much from one step to the next (noise over a quarter of the whole "
                "fall) that the curve is too noisy to read reliably: sweep more rates (num_rates), "
                'use a larger batch, or sweep per="epoch".',
            )
        )
    return found


def usable_range(lrs, losses) -> tuple[float, float]:
    """The valley: the rates where the loss falls steadily, before instability: ``(low_lr, high_lr)``.

    ``low_lr`` is where the smoothed loss has clearly started to fall (by the same margin that
    marks the instability), ``high_lr`` the valley's lowest point, before the curve turns
    unstable. Plots shade this band; the default suggestion lies inside it. On the lesson's
    per-epoch sweep, pass the curve without its warm-up decade (``1e-8`` to ``1e-7``, where a
    random model improves at almost any rate), as notebook 3 does.
    """
    reading = _read(lrs, losses)
    return float(reading.lrs[reading.start]), float(reading.lrs[reading.bottom])
