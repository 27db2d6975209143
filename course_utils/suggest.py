"""Read a learning-rate sweep: smooth the curve, find the usable part, suggest a rate.

A sweep trains while the rate grows, so the curve mixes two things: how well each rate trains
and how much training has already happened. The rules here read the curve the way the lesson
asks students to ("where the loss still falls steadily, before it becomes unstable") and never
crash on a diverged tail (NaN or inf losses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from course_utils._validate import as_1d_float_array, check_choice, check_real, check_same_length

#: The rules :func:`suggest_lr` knows, default first.
SUGGESTION_METHODS = ("valley", "steepest", "minimum")

#: A curve needs at least this many finite losses before any rule can read it.
MIN_POINTS = 5


def smooth_losses(losses, beta: float = 0.98) -> np.ndarray:
    """Debiased exponential moving average of ``losses``, as range tests usually plot it.

    NaN and inf values are skipped (they do not poison the average) and stay NaN in the result,
    so a diverged tail shows as a gap. ``beta=0`` returns the finite losses unchanged. The
    average lags the raw curve (it only looks backwards): the heavier the smoothing, the further
    right features such as the minimum appear, which is why :func:`suggest_lr` uses its own
    centred smoothing instead.
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


def _check_curve(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    """Validate a sweep and return the part a rule may read (rates, losses), all finite."""
    lrs = as_1d_float_array("lrs", lrs)
    losses = as_1d_float_array("losses", losses)
    check_same_length("lrs", lrs, "losses", losses)
    if not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        bad = lrs[~np.isfinite(lrs) | (lrs <= 0)][0]
        raise ValueError(f"lrs must be positive finite learning rates; got {bad!r} among them.")
    steps = np.diff(lrs)
    if np.any(steps <= 0):
        where = int(np.argmax(steps <= 0))
        raise ValueError(
            "lrs must increase strictly (a sweep goes up); "
            f"got lrs[{where}]={lrs[where]!r} followed by lrs[{where + 1}]={lrs[where + 1]!r}."
        )
    finite = np.isfinite(losses)
    if finite.sum() < MIN_POINTS:
        raise ValueError(
            f"losses must hold at least {MIN_POINTS} finite values to suggest a rate; "
            f"got {int(finite.sum())} finite out of {len(losses)}."
        )
    # A loss that became NaN/inf means the run diverged: nothing after it is trustworthy.
    first_bad = int(np.argmin(finite)) if not finite.all() else len(losses)
    if first_bad >= MIN_POINTS:
        return lrs[:first_bad], losses[:first_bad]
    return lrs[finite], losses[finite]


def _centred_median(log_lrs: np.ndarray, values: np.ndarray, width_decades: float) -> np.ndarray:
    """Median of each value and its neighbours within ``width_decades / 2`` on the log-rate axis.

    Centred, so unlike an exponential moving average it does not move the curve to the right,
    and a median, so one bad batch does not fake a rise. At least two neighbours on each side
    are used, so coarse sweeps are smoothed too.
    """
    half = width_decades / 2
    count = len(values)
    low = np.searchsorted(log_lrs, log_lrs - half, side="left")
    high = np.searchsorted(log_lrs, log_lrs + half, side="right")
    index = np.arange(count)
    low = np.maximum(np.minimum(low, index - 2), 0)
    high = np.minimum(np.maximum(high, index + 3), count)
    return np.array([np.median(values[a:b]) for a, b in zip(low, high, strict=True)])


@dataclass(frozen=True)
class _Reading:
    """A sweep read once, shared by every rule: positions on the log axis and landmarks."""

    lrs: np.ndarray
    log_lrs: np.ndarray
    smoothed: np.ndarray  # log of the loss (or the loss itself if some are <= 0), smoothed
    start: int  # first point where the loss has clearly fallen below where it began
    bottom: int  # lowest smoothed loss before the instability
    edge: int  # first point of the instability (the last point if the curve never turns up)


def _read(lrs, losses, smoothing: float = 0.2, rise: float = 0.25) -> _Reading:
    lrs, losses = _check_curve(lrs, losses)
    smoothing = check_real("smoothing", smoothing, non_negative=True)
    rise = check_real("rise", rise, positive=True)
    log_lrs = np.log10(lrs)
    if np.all(losses > 0):
        # On a log scale a rise of 25 % means the same for a loss of 500 and of 0.05.
        values, margin = np.log(losses), math.log1p(rise)
    else:
        values = losses
        margin = rise * max(float(np.ptp(losses)), np.finfo(float).tiny)
    smoothed = _centred_median(log_lrs, values, smoothing) if smoothing > 0 else values.copy()
    running_min = np.minimum.accumulate(smoothed)
    # Instability: the smoothed loss climbs clearly above the best so far, after the loss has
    # clearly fallen (a wobble at the very start, before any progress, is not instability).
    unstable = (smoothed > running_min + margin) & (smoothed[0] - running_min > margin)
    edge = int(np.argmax(unstable)) if unstable.any() else len(smoothed) - 1
    bottom = int(np.argmin(smoothed[: edge + 1]))
    fallen = smoothed[: bottom + 1] < smoothed[0] - margin
    start = int(np.argmax(fallen)) if fallen.any() else 0
    return _Reading(lrs, log_lrs, smoothed, start, bottom, edge)


def _at(reading: _Reading, position: float) -> float:
    """The rate at ``position`` on the log axis, kept inside the swept range."""
    position = min(max(position, reading.log_lrs[0]), reading.log_lrs[-1])
    return float(min(max(10**position, reading.lrs[0]), reading.lrs[-1]))


_OPTIONS = {
    "valley": {"smoothing", "rise", "decades_below"},
    "steepest": {"smoothing", "rise"},
    "minimum": {"smoothing", "rise", "divisor"},
}


def suggest_lr(lrs, losses, method: str = "valley", **options) -> float:
    """Suggest a learning rate from a sweep (``losses[i]`` recorded at rate ``lrs[i]``).

    Methods:

    - ``"valley"`` (default): ``decades_below`` (default 1) decades below the point where the
      loss turns unstable, i.e. climbs ``rise`` (default 25 %) above the best loss seen so far;
      the lowest rate swept if that lands below it.
    - ``"steepest"``: the rate where the smoothed loss falls fastest per decade of rate, looking
      only before the instability.
    - ``"minimum"``: the rate of the lowest smoothed loss before the instability, divided by
      ``divisor`` (default 10, the usual rule of thumb; ``divisor=1`` gives the lowest point).

    Pass the raw losses: every rule reads a centred running median of the log-loss,
    ``smoothing`` decades wide (default 0.2), which does not shift the curve to the right as an
    exponential moving average does. Losses from the first NaN/inf on are ignored (the run
    diverged there), and the instability is read from the curve's shape, not from NaN alone: a
    run whose ReLU units died plateaus instead of producing NaN.
    """
    method = check_choice("method", method, SUGGESTION_METHODS)
    unknown = set(options) - _OPTIONS[method]
    if unknown:
        raise TypeError(
            f"suggest_lr(method={method!r}) takes options {sorted(_OPTIONS[method])}; got {sorted(unknown)}."
        )
    reading = _read(lrs, losses, options.get("smoothing", 0.2), options.get("rise", 0.25))
    if method == "valley":
        decades_below = check_real("decades_below", options.get("decades_below", 1.0), non_negative=True)
        return _at(reading, reading.log_lrs[reading.edge] - decades_below)
    if method == "minimum":
        divisor = check_real("divisor", options.get("divisor", 10.0), positive=True)
        return _at(reading, reading.log_lrs[reading.bottom] - math.log10(divisor))
    stop = max(reading.bottom, 1)
    slopes = np.diff(reading.smoothed[: stop + 1]) / np.diff(reading.log_lrs[: stop + 1])
    return float(reading.lrs[int(np.argmin(slopes))])


def usable_range(lrs, losses) -> tuple[float, float]:
    """The rates where the loss falls steadily, before instability: ``(low_lr, high_lr)``.

    ``low_lr`` is where the smoothed loss has clearly started to fall (25 % below where it
    began), ``high_lr`` where it bottoms out before turning unstable. Plots shade this band.
    """
    reading = _read(lrs, losses)
    return float(reading.lrs[reading.start]), float(reading.lrs[reading.bottom])
