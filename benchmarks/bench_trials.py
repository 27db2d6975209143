"""Speed of independent trials (every rate from the same weights) against the two ways students know.

Measured side by side in one run, on the course's data (one cached, shuffled data set) and model,
SGD with momentum 0.9 and mse as in the lesson:

1. the lesson's continuous sweep: ``fit`` for 100 epochs with ``LearningRateScheduler``, warm;
2. ``run_independent_trials`` on the lesson's 100 rates (``sweep_rates()``), one epoch each, warm
   (median of a few runs; the first, cold call including tracing is reported too);
3. the naive loop: for each rate rebuild the model (``fresh_copy``), compile, train one epoch.
   Every rate costs the same (each new model traces its own training graph), so by default a
   spread of ``--naive-rates`` of the 100 is timed and scaled to 100; ``--naive-rates 100`` times
   them all.

Targets (issue 5): trials / continuous <= 0.20 and trials / naive <= 0.02, for the Dense model.
The recurrent model is reported beside it (``--models dense`` skips it).

Run: ``.venv/bin/python benchmarks/bench_trials.py`` (about 3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from course_utils.data import synthetic_series, train_valid_split, windowed_dataset  # noqa: E402
from course_utils.models import build_dense_model, build_recurrent_model, compile_model, fresh_copy  # noqa: E402
from course_utils.schedules import sweep_rates, sweep_schedule  # noqa: E402
from course_utils.trials import run_independent_trials  # noqa: E402

CONTINUOUS_TARGET = 0.20
NAIVE_TARGET = 0.02
BUILDERS = {"dense": build_dense_model, "recurrent": build_recurrent_model}


def timed(function):
    began = time.perf_counter()
    value = function()
    return time.perf_counter() - began, value


def continuous_sweep(model, dataset, initial):
    """The lesson's sweep on a warm model: reset weights and optimizer state, then 100 epochs."""
    model.set_weights(initial)
    for variable in model.optimizer.variables:
        variable.assign(np.zeros(variable.shape, variable.dtype))
    callback = keras.callbacks.LearningRateScheduler(sweep_schedule())
    return model.fit(dataset, epochs=100, callbacks=[callback], verbose=0).history["loss"]


def naive_one_rate(model, dataset, initial, lr):
    """What a student would write: a fresh model, compiled, trained one epoch at ``lr``."""
    copy = fresh_copy(model, weights=initial)
    copy.optimizer.learning_rate = float(lr)
    return copy.fit(dataset, epochs=1, verbose=0).history["loss"][-1]


def measure(kind, dataset, lrs, naive_count, repeats, seed):
    model = compile_model(BUILDERS[kind](seed=seed), 1e-8)
    initial = model.get_weights()

    model.fit(dataset, epochs=1, verbose=0)  # trace the training graph: the sweep below is warm
    continuous_s, _ = timed(lambda: continuous_sweep(model, dataset, initial))
    model.set_weights(initial)

    cold_s, outcome = timed(lambda: run_independent_trials(model, dataset, lrs))
    if outcome.method != "vectorized":
        raise SystemExit(f"{kind}: expected the vectorised method, got {outcome.method}: {outcome.reason}")
    warm = [timed(lambda: run_independent_trials(model, dataset, lrs))[0] for _ in range(repeats)]
    trials_s = statistics.median(warm)

    picks = np.unique(np.linspace(0, len(lrs) - 1, naive_count).round().astype(int))
    naive_each = [timed(lambda lr=lrs[i]: naive_one_rate(model, dataset, initial, lr))[0] for i in picks]
    naive_s = statistics.mean(naive_each) * len(lrs)
    return {
        "model": kind,
        "continuous": continuous_s,
        "trials": trials_s,
        "trials_cold": cold_s,
        "naive": naive_s,
        "naive_measured": len(picks),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="dense,recurrent", help="comma-separated: dense, recurrent")
    parser.add_argument(
        "--naive-rates", type=int, default=10, help="rates timed for the naive loop (max 100)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="warm runs of the trials (median reported)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    kinds = [kind.strip() for kind in args.models.split(",") if kind.strip()]
    unknown = sorted(set(kinds) - set(BUILDERS))
    if unknown:
        parser.error(f"--models: unknown {unknown}; choose from {sorted(BUILDERS)}")
    if not 2 <= args.naive_rates <= 100:
        parser.error(f"--naive-rates must be between 2 and 100; got {args.naive_rates}")

    split = train_valid_split(*synthetic_series())
    dataset = windowed_dataset(split.train, seed=args.seed)  # one cached data set for all three
    lrs = sweep_rates()

    rows = [measure(kind, dataset, lrs, args.naive_rates, args.repeats, args.seed) for kind in kinds]

    print(
        f"{len(lrs)} rates 1e-8 * 10**(e/20), one epoch each; seconds of wall time, all warm unless noted\n"
    )
    header = (
        f"{'model':<10} {'continuous':>11} {'trials':>8} {'(cold)':>8} {'naive':>9}"
        f" {'trials/continuous':>18} {'trials/naive':>13}"
    )
    print(header)
    print("-" * len(header))
    failed = False
    for row in rows:
        versus_continuous = row["trials"] / row["continuous"]
        versus_naive = row["trials"] / row["naive"]
        print(
            f"{row['model']:<10} {row['continuous']:>11.2f} {row['trials']:>8.3f} {row['trials_cold']:>8.2f}"
            f" {row['naive']:>9.1f} {versus_continuous:>18.4f} {versus_naive:>13.5f}"
        )
        if row["model"] == "dense":
            failed |= versus_continuous > CONTINUOUS_TARGET or versus_naive > NAIVE_TARGET
    print()
    for row in rows:
        note = (
            "all timed"
            if row["naive_measured"] == len(lrs)
            else f"{row['naive_measured']} timed, scaled to {len(lrs)}"
        )
        print(f"naive loop, {row['model']}: {note}")
    print(
        f"targets (dense): trials/continuous <= {CONTINUOUS_TARGET}, trials/naive <= {NAIVE_TARGET} -> "
        + ("MISSED" if failed else "met")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
