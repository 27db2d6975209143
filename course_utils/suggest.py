"""Read a learning-rate sweep: smooth the curve, find the usable part, suggest a rate.

A sweep trains while the rate grows, so the curve mixes two things: how well each rate trains
and how much training has already happened. The rules here read the curve the way the lesson
asks students to ("where the loss still falls steadily, before it becomes unstable") and never
crash on a diverged tail (NaN or inf losses).
"""

from __future__ import annotations

import math

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


def _centred_smooth(log_lrs: np.ndarray, losses: np.ndarray, width_decades: float) -> np.ndarray:
    """Average each loss with its neighbours within ``width_decades / 2`` on the log-rate axis.

    Centred, so unlike an exponential moving average it does not shift the curve to the right.
    """
    half = width_decades / 2
    low = np.searchsorted(log_lrs, log_lrs - half, side="left")
    high = np.searchsorted(log_lrs, log_lrs + half, side="right")
    cumulative = np.concatenate([[0.0], np.cumsum(losses)])
    return (cumulative[high] - cumulative[low]) / (high - low)


def _read_curve(lrs, losses, smoothing: float):
    lrs, losses = _check_curve(lrs, losses)
    log_lrs = np.log10(lrs)
    smoothing = check_real("smoothing", smoothing, non_negative=True)
    smoothed = _centred_smooth(log_lrs, losses, smoothing) if smoothing > 0 else losses.copy()
    return lrs, log_lrs, smoothed


def _minimum_index(smoothed: np.ndarray) -> int:
    return int(np.argmin(smoothed))


def _steepest_index(log_lrs: np.ndarray, smoothed: np.ndarray, stop: int) -> int:
    if stop < 2:
        return 0
    slopes = np.diff(smoothed[: stop + 1]) / np.diff(log_lrs[: stop + 1])
    return int(np.argmin(slopes))


def suggest_lr(lrs, losses, method: str = "valley", **options) -> float:
    """Suggest a learning rate from a sweep (``losses[i]`` recorded at rate ``lrs[i]``).

    Methods:

    - ``"valley"`` (default): the middle, on the log axis, of the stretch where the smoothed loss
      falls towards its lowest point, i.e. a rate that still trains fast but sits safely below
      the instability.
    - ``"steepest"``: the rate where the smoothed loss falls fastest per decade of rate, looking
      only before the lowest point.
    - ``"minimum"``: the rate of the lowest smoothed loss divided by ``divisor`` (default 10, the
      usual rule of thumb; ``divisor=1`` gives the lowest point itself).

    ``smoothing`` (default 0.2) is the width, in decades of rate, of the centred average applied
    before reading the curve; 0 reads the raw losses. NaN/inf losses end the usable curve.
    """
    method = check_choice("method", method, SUGGESTION_METHODS)
    allowed = {"valley": {"smoothing"}, "steepest": {"smoothing"}, "minimum": {"smoothing", "divisor"}}[
        method
    ]
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(
            f"suggest_lr(method={method!r}) takes options {sorted(allowed)}; got {sorted(unknown)}."
        )
    lrs, log_lrs, smoothed = _read_curve(lrs, losses, options.get("smoothing", 0.2))
    lowest = _minimum_index(smoothed)
    if method == "minimum":
        divisor = check_real("divisor", options.get("divisor", 10.0), positive=True)
        return float(max(lrs[lowest] / divisor, lrs[0]))
    steepest = _steepest_index(log_lrs, smoothed, lowest)
    if method == "steepest":
        return float(lrs[steepest])
    return float(10 ** ((log_lrs[steepest] + log_lrs[lowest]) / 2))


def usable_range(lrs, losses) -> tuple[float, float]:
    """The rates where the loss falls steadily, before instability: ``(low_lr, high_lr)``.

    ``low_lr`` is where the smoothed loss has dropped by a tenth of its total fall, ``high_lr``
    where it bottoms out. Plots shade this band; suggestions lie inside it.
    """
    lrs, _, smoothed = _read_curve(lrs, losses, 0.2)
    lowest = _minimum_index(smoothed)
    drop = smoothed[0] - smoothed[lowest]
    if lowest == 0 or drop <= 0:
        return float(lrs[0]), float(lrs[0])
    start = int(np.argmax(smoothed[: lowest + 1] <= smoothed[0] - 0.1 * drop))
    return float(lrs[start]), float(lrs[lowest])
