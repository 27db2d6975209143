"""Other libraries' learning-rate finders, so students can compare their suggestions with the course's.

Two popular finders, written from their published descriptions (not from their code, and without
importing either library): fastai's ``Learner.lr_find`` and pytorch-lr-finder's ``LRFinder``. Each
is applied the way its library applies it: the library's smoothing, divergence stop and trimming
of the recorded curve (:func:`fastai_curve`, :func:`lrfinder_curve`), then its rule. The bare
rules (``*_rule(lrs, losses)``) are public too, so the benchmark in
``benchmarks/suggestion_eval`` can apply them to a curve prepared another way.

fastai:

- the recorder smooths the loss with a debiased exponential moving average (beta 0.98,
  :func:`fastai_smooth`); the finder stops once the smoothed loss exceeds 4 times the best so
  far (the point that triggers the stop is recorded); the suggestion functions see the smoothed
  curve without its first tenth (``num_it // 10`` points) and its last 5 points, here also cut
  at its first NaN;
- ``valley``: the longest run of decreasing losses (a longest strictly decreasing subsequence,
  whose length fastai then reads as if the run were contiguous), and the rate about half-way
  along it;
- ``steep``: the rate where the loss falls fastest per unit of log-rate;
- ``minimum``: a tenth of the rate at the lowest loss.

pytorch-lr-finder:

- the loss is smoothed by ``0.05 * loss + 0.95 * previous`` (not debiased); the test stops once
  the smoothed loss exceeds 5 times the best so far (that point is kept); the plot drops the
  first 10 and last 5 points. The curve is also cut at the first non-finite loss, as a user
  reading a NaN would;
- ``steepest``: the rate where ``np.gradient`` of the loss (per step, not per log-rate) is most
  negative.

:func:`other_finder_rate` applies one of :data:`OTHER_FINDERS` to a recorded sweep;
``course_utils.suggest.suggest_lr`` offers them as methods next to its own. No function here
emits a NumPy warning, whatever the losses (NaN, inf, huge, negative or constant values).
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np

#: The finders :func:`other_finder_rate` knows.
OTHER_FINDERS = ("fastai_valley", "fastai_steep", "fastai_minimum", "lrfinder_steepest")

#: A library's curve needs at least this many points left for its rule; otherwise the first rate.
MIN_CURVE_POINTS = 3

#: fastai's smoothing (debiased EMA) and divergence stop.
FASTAI_BETA = 0.98
FASTAI_DIVERGENCE = 4.0

#: pytorch-lr-finder's smoothing, divergence stop and trimming of the plotted curve.
LRFINDER_SMOOTH = 0.05
LRFINDER_DIVERGENCE = 5.0
LRFINDER_SKIP_START = 10
LRFINDER_SKIP_END = 5


def finite_prefix(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    """``(lrs, losses)`` as float arrays, cut before the first NaN or infinite loss."""
    lrs = np.asarray(lrs, dtype=float)
    losses = np.asarray(losses, dtype=float)
    bad = ~np.isfinite(losses)
    stop = int(np.argmax(bad)) if bad.any() else len(losses)
    return lrs[:stop], losses[:stop]


# ----------------------------------------------------------------------------- fastai


def fastai_smooth(losses, beta: float = FASTAI_BETA) -> np.ndarray:
    """Debiased exponential moving average, as fastai's recorder keeps it (NaN propagates).

    The recurrence runs on Python floats: the same IEEE arithmetic as NumPy's, without NumPy's
    overflow and invalid-value warnings (an infinite loss gives inf, inf minus inf gives NaN).
    """
    smoothed, average = [], 0.0
    for count, value in enumerate(np.asarray(losses, dtype=float).tolist(), start=1):
        average = beta * average + (1 - beta) * value
        smoothed.append(average / (1 - beta**count))
    return np.array(smoothed, dtype=float)


def fastai_curve(lrs, losses, divergence: float = FASTAI_DIVERGENCE) -> tuple[np.ndarray, np.ndarray]:
    """The curve (rates, smoothed losses) fastai's suggestion functions receive for a run that
    recorded ``losses`` at ``lrs``: smoothed, stopped at the divergence, trimmed, cut at NaN."""
    lrs = np.asarray(lrs, dtype=float)
    smoothed = fastai_smooth(losses)
    best, stop = np.inf, len(smoothed)
    for index, value in enumerate(smoothed.tolist()):
        best = min(best, value)  # a NaN never becomes the best (NaN < best is false)
        if value > divergence * best:
            stop = index + 1  # the point that triggered the stop is recorded too
            break
    num_it = len(lrs)
    lrs, smoothed = lrs[num_it // 10 : stop][:-5], smoothed[num_it // 10 : stop][:-5]
    nan = np.isnan(smoothed)
    if nan.any():
        first = int(np.argmax(nan))
        lrs, smoothed = lrs[:first], smoothed[:first]
    return lrs, smoothed


def _longest_decreasing_runs(losses: np.ndarray) -> list[int]:
    """For each point, the length of the longest strictly decreasing subsequence ending there.

    Patience sorting on the negated losses, O(n log n): ``tails[k]`` is the smallest possible
    last (negated) value of an increasing subsequence of length ``k + 1`` seen so far. A NaN is
    never smaller or larger than anything, so it ends only its own run of 1 and extends none.
    """
    tails: list[float] = []
    runs = []
    for value in losses.tolist():
        if value != value:  # NaN
            runs.append(1)
            continue
        position = bisect_left(tails, -value)  # earlier points with a larger loss end runs this long
        if position == len(tails):
            tails.append(-value)
        else:
            tails[position] = -value
        runs.append(position + 1)
    return runs


def fastai_valley_rule(lrs, losses) -> float:
    """About half-way along the longest decreasing run (fastai's ``valley``).

    The run ends at the first point with the longest strictly decreasing subsequence ending
    there; fastai takes its start as that length before the end, as if the run were contiguous,
    and returns the rate a third plus a sixth of the way along it (never before the first rate).
    """
    runs = _longest_decreasing_runs(np.asarray(losses, dtype=float))
    best_end = int(np.argmax(runs))  # the first of the longest
    best_start = best_end - runs[best_end]
    third = (best_end - best_start) / 3
    index = best_start + int(third) + int(third / 2)
    return float(lrs[max(index, 0)])


def fastai_steep_rule(lrs, losses) -> float:
    """The rate where the loss falls fastest per unit of log-rate (fastai's ``steep``)."""
    losses = np.asarray(losses, dtype=float)
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        slopes = np.diff(losses) / np.diff(np.log(np.asarray(lrs, dtype=float)))
    return float(lrs[int(np.argmin(slopes))])


def fastai_minimum_rule(lrs, losses) -> float:
    """A tenth of the rate at the lowest loss (fastai's ``minimum``); may lie below ``lrs[0]``."""
    return float(np.asarray(lrs, dtype=float)[int(np.argmin(losses))] / 10)


# ----------------------------------------------------------------------------- pytorch-lr-finder


def lrfinder_curve(
    lrs,
    losses,
    smooth_f: float = LRFINDER_SMOOTH,
    divergence: float = LRFINDER_DIVERGENCE,
    skip_start: int = LRFINDER_SKIP_START,
    skip_end: int = LRFINDER_SKIP_END,
) -> tuple[np.ndarray, np.ndarray]:
    """The curve (rates, smoothed losses) pytorch-lr-finder's plot reads for a run that recorded
    ``losses`` at ``lrs``: cut at the first non-finite loss, smoothed, stopped, trimmed."""
    lrs, raw = finite_prefix(lrs, losses)
    smoothed: list[float] = []
    best = np.inf
    for index, value in enumerate(raw.tolist()):  # Python floats: no overflow warnings
        if index > 0:
            value = smooth_f * value + (1 - smooth_f) * smoothed[-1]
        smoothed.append(value)
        best = min(best, value)
        if value > divergence * best:
            break
    lrs = lrs[: len(smoothed)]
    values = np.array(smoothed, dtype=float)
    end = len(values) - skip_end if skip_end else len(values)
    return lrs[skip_start:end], values[skip_start:end]


def lrfinder_steepest_rule(lrs, losses) -> float:
    """The rate where ``np.gradient`` of the loss is most negative (pytorch-lr-finder)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        gradient = np.gradient(np.asarray(losses, dtype=float))
    return float(lrs[int(np.argmin(gradient))])


# ----------------------------------------------------------------------------- as the libraries apply them

_PIPELINES = {
    "fastai_valley": (fastai_curve, fastai_valley_rule),
    "fastai_steep": (fastai_curve, fastai_steep_rule),
    "fastai_minimum": (fastai_curve, fastai_minimum_rule),
    "lrfinder_steepest": (lrfinder_curve, lrfinder_steepest_rule),
}


def other_finder_rate(method: str, lrs: np.ndarray, losses: np.ndarray) -> float:
    """The rate another library's finder suggests for a recorded sweep, as that library applies it.

    ``method`` is one of :data:`OTHER_FINDERS`; ``lrs`` are the swept rates (strictly increasing,
    positive) and ``losses`` the losses recorded at them (NaN and inf allowed). The library's
    smoothing, divergence stop and trimming come first (:func:`fastai_curve`,
    :func:`lrfinder_curve`), then its rule. If fewer than :data:`MIN_CURVE_POINTS` points are
    left, the result is the first rate. Unlike the library, ``"fastai_minimum"`` (a tenth of the
    rate at the lowest loss) is clamped to ``lrs[0]`` when the tenth falls below the sweep, so
    the result is always within ``[lrs[0], lrs[-1]]``. No input validation beyond ``method``:
    ``suggest_lr`` validates the sweep.
    """
    if method not in _PIPELINES:
        raise ValueError(f"method must be one of {OTHER_FINDERS}; got {method!r}.")
    lrs = np.asarray(lrs, dtype=float)
    curve, rule = _PIPELINES[method]
    short_lrs, short_losses = curve(lrs, losses)
    if len(short_lrs) < MIN_CURVE_POINTS:
        return float(lrs[0])
    return max(rule(short_lrs, short_losses), float(lrs[0]))
