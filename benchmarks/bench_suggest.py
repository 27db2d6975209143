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

The set has two parts: the *tune* set, on which the rule's constants were chosen, and a
*holdout* set of problems generated only after the rule was frozen (``split`` in the data).

Run: ``.venv/bin/python benchmarks/bench_suggest.py [--cases]`` (some 10-20 s; no training).
"""

from __future__ import annotations

import argparse
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


def table(title, rates, cases):
    """Print one row per method; ``rates`` maps a method's name to its suggestion per case."""
    width = max(len(name) for name in rates) + 2
    columns = {group: max(len(group), 11) + 2 for group in evaluate.GROUPS}
    print(f"\n{title}")
    header = f"{'method':<{width}}" + "".join(f"{group:>{size}}" for group, size in columns.items())
    print(header + "   misses (distance to band)")
    print("-" * (len(header) + 40))
    hits = {}
    for name, suggested in rates.items():
        results = evaluate.score_all(suggested, cases)
        hits[name] = sum(hit for hit, _, _ in results)
        cells = "".join(f"{_cell(results, cases, group):>{size}}" for group, size in columns.items())
        print(f"{name:<{width}}{cells}   {_misses(results)}")
    return hits


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
        lines.append(f"  held out {held_out:<18} chose {option}={best:<5} -> {hits}/{len(test)}")
    print(f"\nLeave one problem out: tune the valley's {option} over {values} on the other problems")
    print("\n".join(lines))
    print(f"  held-out hit rate: {total}/{count} = {100 * total / count:.0f}%")
    in_sample = {value: sum(hits) for value, hits in hits_by_value.items()}
    print(
        "  hits by value on all cases: "
        + ", ".join(f"{value:g}: {hits}" for value, hits in in_sample.items())
    )


def list_cases(rates, cases):
    names = list(rates)
    print("\nPer case: suggested rate, * = in the good band; band = lowest..highest good grid rate")
    print(f"{'case':<34}{'band':>20}  " + "  ".join(f"{name[-18:]:>18}" for name in names))
    for index, case in enumerate(cases):
        band = case.grid[case.good]
        cells = []
        for name in names:
            rate = rates[name][index]
            if isinstance(rate, Exception):
                cells.append(f"{'error':>18}")
            else:
                hit, _ = evaluate.score(case, rate)
                cells.append(f"{rate:>17.2e}{'*' if hit else ' '}")
        print(f"{case.id:<34}{band.min():>9.1e}..{band.max():<9.1e}  " + "  ".join(cells))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", action="store_true", help="also list every case's suggestions")
    args = parser.parse_args()
    cases = evaluate.load_cases()
    loss_cases = evaluate.load_cases(score="loss")
    splits = {split: sum(case.split == split for case in cases) for split in ("tune", "holdout")}
    print(
        f"{len(cases)} sweep curves from {len({c.problem for c in cases})} problems "
        f"({splits['tune']} in the tune set, {splits['holdout']} held out: made after the rule was frozen)."
    )
    print("Good band = grid rates whose retrained validation metric (mean of 2 seeds, last 3 epochs) is")
    print("within 10 % of the best: MAE <= 1.1 x best (regression), accuracy >= 0.9 x best (classification).")
    methods = {**ours(), **baselines.BASELINES}
    methods.update({f"{name} (raw)": baselines.raw(rule) for name, rule in baselines.RAW_RULES.items()})
    rates = {name: evaluate.suggestions(method, cases) for name, method in methods.items()}
    library = [*ours(), *baselines.BASELINES]
    hits = table("Hit rate, baselines as their libraries apply them", {n: rates[n] for n in library}, cases)
    raw = [*ours(), *(name for name in rates if name.endswith("(raw)"))]
    table(
        "Hit rate, baseline rules on the raw curve (cut at the first NaN)", {n: rates[n] for n in raw}, cases
    )
    table(
        "Hit rate when the band is read from the validation loss (MSE / cross-entropy) instead",
        {n: rates[n] for n in library},
        loss_cases,
    )
    leave_one_problem_out(cases)
    if args.cases:
        list_cases({n: rates[n] for n in library}, cases)
    default = hits["ours: valley"]
    beaten = [name for name in baselines.BASELINES if hits[name] >= default]
    print("\nDefault beats every baseline (library pipeline):", "yes" if not beaten else f"NO ({beaten})")
    return 1 if beaten else 0  # the target: exit non-zero when it is missed (make bench)


if __name__ == "__main__":
    sys.exit(main())
