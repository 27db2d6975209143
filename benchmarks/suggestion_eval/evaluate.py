"""Score suggestion rules against the evaluation set in ``curves.json``.

The *good band* of a problem and optimizer: the grid rates whose retrained validation metric
(averaged over the seeds) is within 10 % of the best one (MAE at most 1.1 x the best; accuracy
at least 0.9 x the best). A suggestion *hits* when the grid rate nearest to it (on the log axis)
is in the band; when it misses, its distance is the number of decades to the nearest good rate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CURVES = Path(__file__).with_name("curves.json")
TOLERANCE = 0.10


@dataclass(frozen=True)
class Case:
    id: str
    problem: str
    split: str  # when the problem was made: "tune", "holdout", "third" or "sealed" (see bench_suggest)
    task: str
    optimizer: str
    per: str
    lrs: np.ndarray
    losses: np.ndarray
    grid: np.ndarray
    good: np.ndarray  # bool per grid rate


def _array(values):
    return np.array([np.nan if value is None else value for value in values], dtype=float)


def good_band(truth, score="metric", tolerance=TOLERANCE):
    """Bool per grid rate: is its retrained score within ``tolerance`` of the best?"""
    if score == "metric":
        rows = np.array([_array(row) for row in truth["val_metric"]])
        higher_is_better = truth["metric"] == "val_accuracy"
    else:
        rows = np.array([_array(row) for row in truth["val_loss"]])
        higher_is_better = False
    rows = np.where(np.isfinite(rows), rows, 0.0 if higher_is_better else np.inf)
    mean = rows.mean(axis=0)
    if higher_is_better:
        return mean >= (1 - tolerance) * mean.max()
    return mean <= (1 + tolerance) * mean.min()


def load_cases(path=CURVES, score="metric") -> list[Case]:
    data = json.loads(Path(path).read_text())
    truths = {(t["problem"], t["optimizer"]): t for t in data["ground_truth"]}
    cases = []
    for curve in data["curves"]:
        truth = truths[(curve["problem"], curve["optimizer"])]
        cases.append(
            Case(
                id=curve["id"],
                problem=curve["problem"],
                split=curve.get("split", "tune"),
                task=curve["task"],
                optimizer=curve["optimizer"],
                per=curve["per"],
                lrs=_array(curve["lrs"]),
                losses=_array(curve["losses"]),
                grid=_array(truth["lrs"]),
                good=good_band(truth, score),
            )
        )
    return cases


def score(case: Case, lr: float) -> tuple[bool, float]:
    """``(hit, signed decades to the nearest good rate)``; negative means the suggestion is too low."""
    log_grid = np.log10(case.grid)
    log_lr = np.log10(lr)
    nearest = int(np.argmin(np.abs(log_grid - log_lr)))
    if case.good[nearest]:
        return True, 0.0
    good = log_grid[case.good]
    closest = good[np.argmin(np.abs(good - log_lr))]
    return False, float(log_lr - closest)


GROUPS = {
    "all": lambda case: True,
    "tune set": lambda case: case.split == "tune",
    "holdout": lambda case: case.split == "holdout",
    "third": lambda case: case.split == "third",
    "sealed": lambda case: case.split == "sealed",
    "per-epoch": lambda case: case.per.split()[0] == "epoch",  # "epoch cut": see bench_suggest
    "per-batch": lambda case: case.per.split()[0] == "batch",
    "SGD": lambda case: case.optimizer == "sgd",
    "Adam": lambda case: case.optimizer == "adam",
    "regression": lambda case: case.task == "regression",
    "classification": lambda case: case.task == "classification",
}


def suggestions(method, cases):
    """The rate ``method(lrs, losses)`` suggests for every case; an exception is kept as is."""
    rates = []
    for case in cases:
        try:
            rates.append(float(method(case.lrs, case.losses)))
        except Exception as error:  # a baseline that fails on a curve misses it
            rates.append(error)
    return rates


def score_all(rates, cases):
    """Per case: ``(hit, signed distance, rate)``; a failure counts as a miss at distance inf."""
    results = []
    for rate, case in zip(rates, cases, strict=True):
        if isinstance(rate, Exception):
            results.append((False, float("inf"), repr(rate)))
        else:
            results.append((*score(case, rate), rate))
    return results


def evaluate(method, cases):
    """``score_all(suggestions(method, cases), cases)``."""
    return score_all(suggestions(method, cases), cases)
