"""How often does each suggestion rule land in the good band? Ours against four baselines.

Reads the stored evaluation set (``benchmarks/suggestion_eval/curves.json``, made by
``make_curves.py``: sweep curves from several models, data sets, optimizers and both kinds of
sweep, with ground truth from retraining at a grid of fixed rates) and prints, for every rule,
the hit rate overall and by group, and how far the misses are from the band (in decades).

The baselines are written from their libraries' descriptions (``suggestion_eval/baselines.py``)
and applied as their libraries apply them (their own smoothing, stop and trimming); a second
table applies the bare rules to the raw curve. The last table is an honest check of our one
tuned constant: leave one problem out, pick the constant on the other problems, score the
held-out one.

Run: ``.venv/bin/python benchmarks/bench_suggest.py`` (a few seconds; no training).
"""

from __future__ import annotations

import os
import sys
from functools import partial
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).with_name("suggestion_eval")))

import baselines  # noqa: E402
import evaluate  # noqa: E402

from course_utils.suggest import SUGGESTION_METHODS, suggest_lr  # noqa: E402

#: the constant of the default rule checked by leave-one-problem-out (option name, values tried)
TUNED_OPTION = ("divisor", (2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0))


def ours():
    methods = {f"ours: {name}": partial(suggest_lr, method=name) for name in SUGGESTION_METHODS}
    methods["ours: valley"] = suggest_lr  # the default, called exactly as users call it
    return methods


def _cell(results, cases, group):
    chosen = [result for result, case in zip(results, cases, strict=True) if evaluate.GROUPS[group](case)]
    if not chosen:
        return "-"
    hits = sum(hit for hit, _, _ in chosen)
    return f"{hits:2d}/{len(chosen):<2d} {100 * hits / len(chosen):3.0f}%"


def _misses(results):
    distances = [distance for hit, distance, _ in results if not hit]
    if not distances:
        return "no misses"
    finite = np.array([d for d in distances if np.isfinite(d)])
    low = int((finite < 0).sum())
    high = int((finite > 0).sum())
    failed = len(distances) - len(finite)
    text = f"median {np.median(np.abs(finite)):.2f} dec, {low} low/{high} high"
    return text + (f", {failed} failed" if failed else "")


def table(title, methods, cases):
    groups = list(evaluate.GROUPS)
    width = max(len(name) for name in methods) + 2
    print(f"\n{title}")
    header = f"{'method':<{width}}" + "".join(f"{group:>{max(len(group), 11) + 2}}" for group in groups)
    print(header + "   misses (distance to band)")
    print("-" * (len(header) + 40))
    scores = {}
    for name, method in methods.items():
        results = evaluate.evaluate(method, cases)
        scores[name] = sum(hit for hit, _, _ in results)
        cells = "".join(
            f"{_cell(results, cases, group):>{max(len(group), 11) + 2}}" for group in evaluate.GROUPS
        )
        print(f"{name:<{width}}{cells}   {_misses(results)}")
    return scores


def leave_one_problem_out(cases):
    option, values = TUNED_OPTION
    problems = sorted({case.problem for case in cases})
    hits_by_value = {
        value: [hit for hit, _, _ in evaluate.evaluate(partial(suggest_lr, **{option: value}), cases)]
        for value in values
    }
    total, count, lines = 0, 0, []
    for held_out in problems:
        train = [i for i, case in enumerate(cases) if case.problem != held_out]
        test = [i for i, case in enumerate(cases) if case.problem == held_out]
        # ties go to the value nearest the default (on a log scale)
        best = max(
            values,
            key=lambda value: (sum(hits_by_value[value][i] for i in train), -abs(np.log(value / 4.0))),
        )
        hits = sum(hits_by_value[best][i] for i in test)
        total, count = total + hits, count + len(test)
        lines.append(f"  held out {held_out:<16} chose {option}={best:<5} -> {hits}/{len(test)}")
    print(f"\nLeave one problem out: tune {option} over {values} on the other problems")
    print("\n".join(lines))
    print(f"  held-out hit rate: {total}/{count} = {100 * total / count:.0f}%")
    in_sample = {value: sum(hits) for value, hits in hits_by_value.items()}
    print("  in-sample hits by value: " + ", ".join(f"{value}: {hits}" for value, hits in in_sample.items()))


def main():
    cases = evaluate.load_cases()
    print(f"{len(cases)} sweep curves from {len({c.problem for c in cases})} problems; ground truth:")
    print("good band = grid rates whose retrained validation metric (mean of 2 seeds, last 3 epochs)")
    print(
        "is within 10 % of the best: MAE <= 1.1 x best (regression), accuracy >= 0.9 x best (classification)."
    )
    library = {name: method for name, method in baselines.BASELINES.items()}
    scores = table("Hit rate, baselines as their libraries apply them", {**ours(), **library}, cases)
    raw = {f"{name} (raw)": baselines.raw(rule) for name, rule in baselines.RAW_RULES.items()}
    table("Hit rate, baseline rules on the raw curve (cut at the first NaN)", {**ours(), **raw}, cases)
    loss_cases = evaluate.load_cases(score="loss")
    table(
        "Hit rate when the band is read from the validation loss (MSE / cross-entropy) instead",
        {**ours(), **library},
        loss_cases,
    )
    leave_one_problem_out(cases)
    default = scores["ours: valley"]
    beaten = [name for name in library if scores[name] >= default]
    print("\nDefault beats every baseline (library pipeline):", "yes" if not beaten else f"NO ({beaten})")


if __name__ == "__main__":
    main()
