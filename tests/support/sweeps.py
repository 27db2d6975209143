"""Sweep curves shaped like the lesson's, for the figures and the widgets."""

from __future__ import annotations

import numpy as np

from course_utils.range_test import RangeTestResult
from course_utils.suggest import smooth_losses


def lesson_like_sweep(num=100, diverge_at=90, seed=0):
    """A sweep shaped like the lesson's: flat, falling, a valley, then a rise into NaN."""
    lrs = 1e-8 * 10 ** (np.arange(num) / 20)
    log_lrs = np.log10(lrs)
    rng = np.random.default_rng(seed)
    losses = 60 / (1 + np.exp((log_lrs + 6) * 3)) + 8 + np.exp((log_lrs + 4.2) * 6) + rng.normal(0, 0.5, num)
    losses[diverge_at:] = np.nan
    return lrs, losses


def result_of(lrs, losses, *, per="epoch", trials="continuous", elapsed=1.0, **fields) -> RangeTestResult:
    """A :class:`RangeTestResult` for a curve made up by a test (smoothed with the default beta)."""
    return RangeTestResult(
        lrs=lrs,
        losses=losses,
        smoothed_losses=smooth_losses(losses),
        per=per,
        trials=trials,
        elapsed=elapsed,
        **fields,
    )
