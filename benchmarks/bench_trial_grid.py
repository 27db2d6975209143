"""Speed of a trial grid (initial weights × momentum × rate) against ordinary training, side by side.

Issue 10's targets, measured in one run on the course's data (one cached, shuffled data set) and
its Dense model, SGD with momentum, everything warm (traced once before it is timed):

1. **A grid for the price of a sweep.** 5 seeds × 4 momenta × 25 rates (500 fresh trials), one
   epoch each, against the lesson's continuous sweep (``fit`` for 100 epochs with
   ``LearningRateScheduler``). Target: grid / sweep <= 1.
2. **Many retrains for the price of a few.** 5 seeds × 10 rates (50 fresh models) trained for 100
   epochs, against one ordinary ``fit`` of one model for 100 epochs. Target: grid / fit <= 3.

Each time is the median of ``--repeats`` runs. Run: ``.venv/bin/python benchmarks/bench_trial_grid.py``
(about 2 minutes on 2 cores).
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
from course_utils.fresh_start import fresh_start  # noqa: E402
from course_utils.models import build_dense_model, compile_model  # noqa: E402
from course_utils.schedules import sweep_schedule  # noqa: E402
from course_utils.trials import run_independent_trials  # noqa: E402

SWEEP_TARGET = 1.0
RETRAIN_TARGET = 3.0
SEEDS = range(5)
MOMENTA = [0.0, 0.5, 0.9, 0.99]
GRID_RATES = np.geomspace(1e-8, 1e-4, 25)
RETRAIN_RATES = np.geomspace(1e-7, 1e-5, 10)
EPOCHS = 100


def median_time(function, repeats):
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (median reported)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1; got {args.repeats}")

    split = train_valid_split(*synthetic_series())
    dataset = windowed_dataset(split.train, seed=args.seed).cache()
    keras.utils.set_random_seed(args.seed)
    model = compile_model(build_dense_model(), 1e-6)
    initial = model.get_weights()

    def reset():
        fresh_start(model, initial)
        model.optimizer.learning_rate = 1e-6

    def sweep():
        reset()
        model.fit(
            dataset,
            epochs=EPOCHS,
            callbacks=[keras.callbacks.LearningRateScheduler(sweep_schedule())],
            verbose=0,
        )

    def fit():
        reset()
        model.fit(dataset, epochs=EPOCHS, verbose=0)

    def grid():
        return run_independent_trials(model, dataset, GRID_RATES, momentum=MOMENTA, init_seeds=SEEDS)

    def retrains():
        return run_independent_trials(
            model, dataset, RETRAIN_RATES, init_seeds=SEEDS, epochs_per_trial=EPOCHS
        )

    # Warm everything: trace fit's step and both trial-axis plans (momentum 0.9 alone and the grid's).
    model.fit(dataset, epochs=1, verbose=0)
    for warm in (grid(), run_independent_trials(model, dataset, RETRAIN_RATES, init_seeds=SEEDS)):
        if warm.method != "vectorized":
            raise SystemExit(f"expected the vectorised method, got {warm.method}: {warm.reason}")

    rows = [
        (
            f"{len(SEEDS)} seeds x {len(MOMENTA)} momenta x {len(GRID_RATES)} rates, 1 epoch",
            median_time(grid, args.repeats),
            "continuous sweep, 100 epochs",
            median_time(sweep, args.repeats),
            SWEEP_TARGET,
        ),
        (
            f"{len(SEEDS)} seeds x {len(RETRAIN_RATES)} rates, {EPOCHS} epochs",
            median_time(retrains, args.repeats),
            f"one fit, {EPOCHS} epochs",
            median_time(fit, args.repeats),
            RETRAIN_TARGET,
        ),
    ]
    print(f"wall time in seconds, median of {args.repeats} warm runs each, same cached data\n")
    header = f"{'trial grid':<44} {'s':>7}   {'against':<30} {'s':>7} {'ratio':>7} {'target':>7}"
    print(header)
    print("-" * len(header))
    missed = False
    for name, seconds, other, other_seconds, target in rows:
        ratio = seconds / other_seconds
        missed |= ratio > target
        print(
            f"{name:<44} {seconds:7.2f}   {other:<30} {other_seconds:7.2f} {ratio:7.3f} {'<= ' + f'{target:g}':>7}"
        )
    print(f"\ntargets -> {'MISSED' if missed else 'met'}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
