"""Speed and usefulness of the per-batch range test against the lesson's 100-epoch sweep.

Measured side by side in one run, on the course's data and Dense model, one cached data set:

1. wall time of the lesson's sweep (``fit`` for 100 epochs with ``LearningRateScheduler``) and of
   ``lr_range_test(per="batch")`` with its defaults, both warm (the traced graphs are reused),
   and their ratio (target: at most 0.20);
2. validation forecast MAE of fresh models retrained at the suggested rate and at a small grid
   of fixed rates (target: the suggestion within 10 % of the best fixed rate).

It also prints what the per-batch defaults of ``lr_range_test`` are chosen against: where the
course's sweep starts to fall and where it stops (the rate, the step, the epoch), and which fixed
rates of the grid train within 10 % of the best.

Run: ``.venv/bin/python benchmarks/bench_range_test.py`` (about 2-4 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from course_utils.data import forecast_mae, synthetic_series, train_valid_split, windowed_dataset  # noqa: E402
from course_utils.models import build_dense_model, compile_model  # noqa: E402
from course_utils.range_test import lr_range_test  # noqa: E402
from course_utils.schedules import sweep_rates, sweep_schedule  # noqa: E402
from course_utils.suggest import suggest_lr, usable_range  # noqa: E402

SPEED_TARGET = 0.20
QUALITY_TARGET = 1.10
FIXED_RATES = (1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 3e-5)


def state(model):
    variables = list(model.weights) + list(model.optimizer.variables)
    return variables, [variable.numpy() for variable in variables]


def reset(saved):
    for variable, value in zip(*saved, strict=True):
        variable.assign(value)


def lesson_sweep(model, dataset):
    """The lesson's sweep, exactly as students run it."""
    callback = keras.callbacks.LearningRateScheduler(sweep_schedule())
    return model.fit(dataset, epochs=100, callbacks=[callback], verbose=0).history["loss"]


def timed(function):
    began = time.perf_counter()
    value = function()
    return time.perf_counter() - began, value


def retrain_mae(lr, series, train, epochs, seed):
    """A fresh model (same initial weights for every rate, same data order) trained at ``lr``."""
    model = compile_model(build_dense_model(seed=seed), lr)
    model.fit(windowed_dataset(train, seed=seed), epochs=epochs, verbose=0)
    return forecast_mae(model, series)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2, help="warm runs of each sweep (median reported)")
    parser.add_argument("--epochs", type=int, default=100, help="epochs of each retraining")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    time_axis, series = synthetic_series()
    split = train_valid_split(time_axis, series)
    dataset = windowed_dataset(split.train, seed=args.seed)  # one cached data set for both sweeps

    lesson_model = compile_model(build_dense_model(seed=args.seed), 1e-8)
    batch_model = compile_model(build_dense_model(seed=args.seed), 1e-8)
    lesson_model.optimizer.build(lesson_model.trainable_variables)
    lesson_initial = state(lesson_model)

    print("== speed: lesson's 100-epoch sweep vs lr_range_test(per='batch'), same cached data set")
    lesson_cold, _ = timed(lambda: lesson_sweep(lesson_model, dataset))
    batch_cold, result = timed(lambda: lr_range_test(batch_model, dataset))
    lesson_times, batch_times = [], []
    for _ in range(args.repeats):  # alternate, so a busy moment on the machine hits both
        reset(lesson_initial)
        seconds, lesson_losses = timed(lambda: lesson_sweep(lesson_model, dataset))
        lesson_times.append(seconds)
        seconds, result = timed(lambda: lr_range_test(batch_model, dataset))
        batch_times.append(seconds)
    lesson_warm, batch_warm = statistics.median(lesson_times), statistics.median(batch_times)
    ratio = batch_warm / lesson_warm
    print(f"lesson sweep (100 epochs x 31 batches): cold {lesson_cold:6.2f} s, warm {lesson_warm:6.2f} s")
    print(
        f"per-batch range test ({len(result.losses)} steps, {result.stop_reason}): "
        f"cold {batch_cold:6.2f} s, warm {batch_warm:6.2f} s"
    )
    batches = int(dataset.cardinality())
    low, _ = usable_range(result.lrs, result.losses)
    print(
        f"per-batch sweep: the loss starts to fall near {low:.1e}; it {result.stop_reason} at "
        f"{result.lrs[-1]:.1e}, step {len(result.losses)} of {result.num_rates} "
        f"(epoch {len(result.losses) / batches:.1f} of {batches} batches)"
    )
    speed_ok = ratio <= SPEED_TARGET
    print(
        f"ratio warm per-batch / warm lesson: {ratio:.3f}  (target <= {SPEED_TARGET}: {'ok' if speed_ok else 'MISSED'})"
    )

    print(f"\n== quality: validation forecast MAE after {args.epochs} epochs from the same initial weights")
    suggested = result.suggest("valley")
    lesson_valley = suggest_lr(sweep_rates(), lesson_losses, "valley")
    rows = [(f"suggested (per-batch valley) {suggested:.2e}", suggested)]
    rows.append((f"lesson sweep's valley        {lesson_valley:.2e}", lesson_valley))
    rows += [(f"fixed                        {lr:.2e}", lr) for lr in FIXED_RATES]
    maes = {}
    for label, lr in rows:
        seconds, mae = timed(lambda lr=lr: retrain_mae(lr, series, split.train, args.epochs, args.seed))
        maes[label] = mae
        print(f"{label}: MAE {mae:7.3f}   ({seconds:.1f} s)")
    best_label = min((label for label in maes if label.startswith("fixed")), key=maes.get)
    best = maes[best_label]
    quality = maes[rows[0][0]] / best
    quality_ok = quality <= QUALITY_TARGET
    print(f"best fixed rate: {best_label.split()[-1]} with MAE {best:.3f}")
    good = [lr for label, lr in rows if label.startswith("fixed") and maes[label] <= QUALITY_TARGET * best]
    print(f"fixed rates within 10 % of the best: {min(good):.1e} .. {max(good):.1e}")
    print(
        f"suggested / best fixed MAE: {quality:.3f}  (target <= {QUALITY_TARGET}: {'ok' if quality_ok else 'MISSED'})"
    )
    return 0 if speed_ok and quality_ok else 1


if __name__ == "__main__":
    sys.exit(main())
