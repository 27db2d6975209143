"""Baseline suggestion rules, written from the published descriptions of two popular finders.

Each baseline is applied the way its library applies it: with that library's smoothing,
divergence stop and trimming of the curve (``*_curve``), then its rule. The rules are also
available on their own (``rule(lrs, losses)``), so the benchmark can apply them to a curve
prepared another way.

fastai (``Learner.lr_find``): the recorder smooths the loss with a debiased exponential moving
average (beta 0.98); the finder stops once the smoothed loss exceeds 4 times the best one; the
suggestion functions see the curve without its first tenth and its last 5 points, cut at the
first NaN. ``valley`` finds the longest run of decreasing losses (a longest decreasing
subsequence computed as if it were contiguous) and returns the rate half-way along it;
``steep`` returns the rate where the loss falls fastest per unit of log-rate; ``minimum``
returns a tenth of the rate at the lowest loss.

pytorch-lr-finder (``LRFinder.range_test`` + ``plot``): the loss is smoothed by
``0.05 * loss + 0.95 * previous`` (not debiased); the test stops once the smoothed loss exceeds
5 times the best; the plot drops the first 10 and last 5 points and suggests the rate where
``np.gradient`` of the loss (per step) is most negative. Here the curve is also cut at the
first non-finite loss, as a user reading a NaN would.
"""

from __future__ import annotations

import numpy as np


def _finite_prefix(lrs, losses):
    lrs = np.asarray(lrs, dtype=float)
    losses = np.asarray(losses, dtype=float)
    bad = ~np.isfinite(losses)
    stop = int(np.argmax(bad)) if bad.any() else len(losses)
    return lrs[:stop], losses[:stop]


# ----------------------------------------------------------------------------- fastai


def fastai_smooth(losses, beta=0.98):
    """Debiased exponential moving average, as fastai's recorder keeps it (NaN propagates)."""
    smoothed, average = [], 0.0
    for count, value in enumerate(np.asarray(losses, dtype=float), start=1):
        average = beta * average + (1 - beta) * value
        smoothed.append(average / (1 - beta**count))
    return np.array(smoothed)


def fastai_curve(lrs, losses, divergence=4.0):
    """The curve fastai's suggestion functions receive for a run that recorded ``losses``."""
    lrs = np.asarray(lrs, dtype=float)
    smoothed = fastai_smooth(losses)
    best, stop = np.inf, len(smoothed)
    for index, value in enumerate(smoothed):
        best = min(best, value)
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


def fastai_valley_rule(lrs, losses):
    """Half-way along the longest decreasing run (fastai's ``valley``)."""
    losses = np.asarray(losses, dtype=float)
    count = len(losses)
    run = np.ones(count, dtype=int)  # longest decreasing subsequence ending at each point
    best_end = 0
    for i in range(1, count):
        earlier = losses[:i] > losses[i]
        if earlier.any():
            run[i] = run[:i][earlier].max() + 1
        if run[i] > run[best_end]:
            best_end = i
    best_start = best_end - run[best_end]
    third = (best_end - best_start) / 3
    index = best_start + int(third) + int(third / 2)
    return float(lrs[max(index, 0)])


def fastai_steep_rule(lrs, losses):
    """The rate where the loss falls fastest per unit of log-rate (fastai's ``steep``)."""
    log_lrs = np.log(np.asarray(lrs, dtype=float))
    losses = np.asarray(losses, dtype=float)
    slopes = np.diff(losses) / np.diff(log_lrs)
    return float(lrs[int(np.argmin(slopes))])


def fastai_minimum_rule(lrs, losses):
    """A tenth of the rate at the lowest loss (fastai's ``minimum``)."""
    return float(lrs[int(np.argmin(losses))] / 10)


# ----------------------------------------------------------------------------- pytorch-lr-finder


def lrfinder_curve(lrs, losses, smooth_f=0.05, divergence=5.0, skip_start=10, skip_end=5):
    """The curve pytorch-lr-finder's plot reads for a run that recorded ``losses``."""
    lrs, raw = _finite_prefix(lrs, losses)
    smoothed, best = [], np.inf
    for index, value in enumerate(raw):
        if index > 0:
            value = smooth_f * value + (1 - smooth_f) * smoothed[-1]
        smoothed.append(value)
        best = min(best, value)
        if value > divergence * best:
            break
    smoothed = np.array(smoothed)
    lrs = lrs[: len(smoothed)]
    end = len(smoothed) - skip_end if skip_end else len(smoothed)
    return lrs[skip_start:end], smoothed[skip_start:end]


def lrfinder_steepest_rule(lrs, losses):
    """The rate where ``np.gradient`` of the loss is most negative (pytorch-lr-finder)."""
    return float(lrs[int(np.argmin(np.gradient(np.asarray(losses, dtype=float))))])


# ----------------------------------------------------------------------------- as used


def _guarded(curve, rule, lrs, losses):
    """Apply ``rule`` to the library's curve; if too little is left, fall back to the first rate."""
    short_lrs, short_losses = curve(lrs, losses)
    if len(short_lrs) < 3:
        return float(np.asarray(lrs, dtype=float)[0])
    return rule(short_lrs, short_losses)


def fastai_valley(lrs, losses):
    return _guarded(fastai_curve, fastai_valley_rule, lrs, losses)


def fastai_steep(lrs, losses):
    return _guarded(fastai_curve, fastai_steep_rule, lrs, losses)


def fastai_minimum(lrs, losses):
    return _guarded(fastai_curve, fastai_minimum_rule, lrs, losses)


def lrfinder_steepest(lrs, losses):
    return _guarded(lrfinder_curve, lrfinder_steepest_rule, lrs, losses)


#: name -> function(lrs, losses) -> rate, each as its library would apply it
BASELINES = {
    "fastai valley": fastai_valley,
    "fastai steep": fastai_steep,
    "fastai minimum/10": fastai_minimum,
    "lr-finder steepest": lrfinder_steepest,
}

#: the same rules on the raw curve (only cut at the first non-finite loss), no library pipeline
RAW_RULES = {
    "fastai valley": fastai_valley_rule,
    "fastai steep": fastai_steep_rule,
    "fastai minimum/10": fastai_minimum_rule,
    "lr-finder steepest": lrfinder_steepest_rule,
}


def raw(rule):
    """``rule`` applied to the raw curve cut at its first non-finite loss."""

    def apply(lrs, losses):
        short_lrs, short_losses = _finite_prefix(lrs, losses)
        if len(short_lrs) < 3:
            return float(np.asarray(lrs, dtype=float)[0])
        return rule(short_lrs, short_losses)

    return apply
