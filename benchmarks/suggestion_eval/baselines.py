"""Baseline suggestion rules: fastai's and pytorch-lr-finder's finders, as the benchmark names them.

The implementation is the course package's, ``course_utils.other_finders`` (written from the
libraries' published descriptions; its docstring describes each pipeline), which ``suggest_lr``
also offers as methods, so the benchmark scores exactly what students can call. This module only
gives the benchmark its names:

- ``BASELINES``: name -> ``function(lrs, losses) -> rate``, each finder as its library applies it
  (its smoothing, divergence stop and trimming, then its rule). fastai's minimum/10 is clamped to
  the first swept rate, as ``suggest_lr`` promises a rate inside the sweep;
- ``RAW_RULES``: the same names -> the bare rules, for a curve prepared another way; ``raw(rule)``
  applies one to the raw curve, only cut at its first non-finite loss (no clamping).
"""

from __future__ import annotations

import numpy as np

from course_utils.other_finders import (
    MIN_CURVE_POINTS,
    fastai_curve,
    fastai_minimum_rule,
    fastai_smooth,
    fastai_steep_rule,
    fastai_valley_rule,
    finite_prefix,
    lrfinder_curve,
    lrfinder_steepest_rule,
    other_finder_rate,
)

__all__ = [
    "BASELINES",
    "RAW_RULES",
    "raw",
    "fastai_valley",
    "fastai_steep",
    "fastai_minimum",
    "lrfinder_steepest",
    "fastai_curve",
    "fastai_smooth",
    "lrfinder_curve",
    "fastai_valley_rule",
    "fastai_steep_rule",
    "fastai_minimum_rule",
    "lrfinder_steepest_rule",
]


def fastai_valley(lrs, losses):
    return other_finder_rate("fastai_valley", lrs, losses)


def fastai_steep(lrs, losses):
    return other_finder_rate("fastai_steep", lrs, losses)


def fastai_minimum(lrs, losses):
    return other_finder_rate("fastai_minimum", lrs, losses)


def lrfinder_steepest(lrs, losses):
    return other_finder_rate("lrfinder_steepest", lrs, losses)


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
    """``rule`` applied to the raw curve cut at its first non-finite loss (the first rate if
    fewer than three points are left)."""

    def apply(lrs, losses):
        short_lrs, short_losses = finite_prefix(lrs, losses)
        if len(short_lrs) < MIN_CURVE_POINTS:
            return float(np.asarray(lrs, dtype=float)[0])
        return rule(short_lrs, short_losses)

    return apply
