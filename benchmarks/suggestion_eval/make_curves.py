"""Build the evaluation set for learning-rate suggestions: sweep curves plus ground truth.

For every problem (data set + model) and optimizer this script

1. retrains fresh models at a grid of fixed rates (same initial weights for every rate, two
   initialisations) and records the validation metric: the *ground truth*;
2. records two sweeps over the same range of rates: the lesson's cumulative per-epoch sweep
   (``LearningRateScheduler``, one rate per epoch) and a per-batch sweep (one rate per batch,
   the true loss of each batch).

Everything is made locally (the course's synthetic series; statsmodels' sunspots, CO2, El Nino,
fair, anes96, macrodata and randhie data sets, shipped with the package; NumPy-made regression,
classification and small images) and seeded. 20 problems: time series, tabular regression and
classification; Dense, recurrent (SimpleRNN, GRU) and convolutional (Conv1D, Conv2D) models; SGD
with momentum 0.9, plain SGD and Adam; batch sizes 16 to 128. The result, ``curves.json`` next to
this file, is small and committed (written atomically after every problem);
``bench_suggest.py`` scores suggestion rules against it.

Run: ``.venv/bin/python benchmarks/suggestion_eval/make_curves.py`` (1-2 hours on 2 free cores,
2-6 minutes per problem; ``--only NAME`` redoes one, ``--sweeps-only`` keeps the stored ground truth,
``--per batch`` re-records only the per-batch sweeps).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from course_utils.data import make_windows, sunspots_series, synthetic_series  # noqa: E402
from course_utils.schedules import ExponentialSweep, sweep_schedule  # noqa: E402

OUTPUT = Path(__file__).with_name("curves.json")
GRID_SIZE = 16
GROUND_TRUTH_SEEDS = (11, 12)
SWEEP_SEEDS = (7, 8)
LAST_EPOCHS = 3  # the ground truth averages the validation metric over this many final epochs
EPOCH_SWEEP_EPOCHS = 100
BATCH_SWEEP_STEPS = 200
BATCH_SIZE = 32


@dataclass
class Problem:
    """A data set, a model builder and how long the retrained models train."""

    name: str
    task: str  # "regression" or "classification"
    train: tuple  # (features, labels)
    valid: tuple
    build: object  # seed -> uncompiled keras model
    epochs: int  # training budget of each ground-truth run
    ranges: dict  # optimizer -> (low_lr, high_lr) for the sweeps and the grid
    split: str = "tune"  # "holdout": made after the rule was frozen, never used to choose it
    batch_size: int = BATCH_SIZE  # of the ground-truth runs and of both sweeps


# ----------------------------------------------------------------------------- data sets


def _series_windows(series, split, window):
    """Training windows before ``split``; validation windows whose label lies after it."""
    train = make_windows(series[:split], window)
    valid = make_windows(series[split - window :], window)
    return train, valid


def _dense(widths, outputs, activation=None, hidden="relu"):
    def build(seed, inputs):
        keras.utils.set_random_seed(seed)
        layers = [keras.Input(shape=(inputs,))]
        layers += [keras.layers.Dense(width, activation=hidden) for width in widths]
        layers.append(keras.layers.Dense(outputs, activation=activation))
        return keras.Sequential(layers)

    return build


def _rnn(seed, window):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(window,)),
            keras.layers.Reshape((window, 1)),
            keras.layers.SimpleRNN(20),
            keras.layers.Dense(1),
            keras.layers.Rescaling(100.0),
        ]
    )


def friedman_regression(num, rng):
    """Friedman's first regression problem (10 uniform features, 5 of them used), noise 1."""
    x = rng.uniform(size=(num, 10)).astype("float32")
    y = (
        10 * np.sin(np.pi * x[:, 0] * x[:, 1])
        + 20 * (x[:, 2] - 0.5) ** 2
        + 10 * x[:, 3]
        + 5 * x[:, 4]
        + rng.normal(size=num)
    )
    return x, y.astype("float32")


def gaussian_blobs(num, rng, centres):
    """Overlapping Gaussian classes around fixed ``centres`` (one row per class)."""
    labels = rng.integers(len(centres), size=num)
    x = centres[labels] + rng.normal(scale=1.5, size=(num, centres.shape[1]))
    return x.astype("float32"), labels.astype("int32")


def spirals(num, rng, arms=3, noise=0.25):
    """``arms`` interleaved spiral arms in the plane, one class per arm."""
    labels = rng.integers(arms, size=num)
    radius = rng.uniform(0.1, 1.0, size=num)
    angle = 4.0 * radius + 2 * np.pi * labels / arms + rng.normal(scale=noise, size=num)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1) * 3
    return x.astype("float32"), labels.astype("int32")


def circles(num, rng, noise=0.35):
    """Two noisy concentric rings (radius 1 and 2), one class per ring."""
    labels = rng.integers(2, size=num)
    angle = rng.uniform(0, 2 * np.pi, size=num)
    radius = 1.0 + labels + rng.normal(scale=noise, size=num)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return x.astype("float32"), labels.astype("int32")


def wavy_regression(num, rng):
    """A smooth 1-D function plus noise, for a tanh network."""
    x = rng.uniform(-3, 3, size=(num, 1))
    y = np.sin(2 * x[:, 0]) + 0.1 * x[:, 0] ** 2 + rng.normal(scale=0.2, size=num)
    return x.astype("float32"), y.astype("float32")


def moons(num, rng, noise=0.2):
    """Two interleaving half circles in the plane, one class each."""
    labels = rng.integers(2, size=num)
    angle = rng.uniform(0, np.pi, size=num)
    x = np.where(
        labels[:, None] == 0,
        np.stack([np.cos(angle), np.sin(angle)], axis=1),
        np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1),
    )
    x = x + rng.normal(scale=noise, size=x.shape)
    return x.astype("float32"), labels.astype("int32")


def sum_of_sines(num, rng, features=5):
    """``sum_k sin(k * x_k)`` over uniform features in [-1, 1], plus noise 0.1: for a deeper MLP."""
    x = rng.uniform(-1, 1, size=(num, features))
    y = np.sin(x * np.arange(1, features + 1)).sum(axis=1) + rng.normal(scale=0.1, size=num)
    return x.astype("float32"), y.astype("float32")


def _standardise(train, valid):
    """Scale features (and a regression target) by the training set's mean and spread."""
    (x_train, y_train), (x_valid, y_valid) = train, valid
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    x_train, x_valid = (x_train - mean) / std, (x_valid - mean) / std
    if y_train.dtype.kind == "f":
        y_mean, y_std = y_train.mean(), y_train.std()
        y_train, y_valid = (y_train - y_mean) / y_std, (y_valid - y_mean) / y_std
    cast = lambda x, y: (x.astype("float32"), y.astype(y.dtype))  # noqa: E731
    return cast(x_train, y_train), cast(x_valid, y_valid)


def _split(x, y, rng, valid_fraction=0.3):
    order = rng.permutation(len(x))
    cut = int(len(x) * (1 - valid_fraction))
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])


def statsmodels_table(name, target, rng, transform=None, limit=None):
    """A tabular data set shipped with statsmodels (no download): standardised features, a split."""
    import statsmodels.api as sm

    frame = getattr(sm.datasets, name).load_pandas().data.dropna()
    if limit:
        frame = frame.iloc[rng.permutation(len(frame))[:limit]]
    y = frame[target].to_numpy(dtype="float64")
    x = frame.drop(columns=[target]).to_numpy(dtype="float64")
    y = transform(y) if transform else y.astype("float32")
    return _standardise(*_split(x, y, rng))


def co2_series():
    """Weekly Mauna Loa CO2 (statsmodels, no download), gaps filled, centred on its mean."""
    import statsmodels.api as sm

    values = sm.datasets.co2.load_pandas().data["co2"].interpolate().bfill().to_numpy()
    return (values - values.mean()).astype("float32")


def elnino_series():
    """Monthly El Nino sea-surface temperatures 1950-2010 (statsmodels), centred."""
    import statsmodels.api as sm

    values = sm.datasets.elnino.load_pandas().data.drop(columns=["YEAR"]).to_numpy().ravel()
    return (values - values.mean()).astype("float32")


def bars_and_crosses(num, rng, size=10):
    """Noisy ``size`` x ``size`` images of a horizontal bar, a vertical bar, a cross or a box."""
    labels = rng.integers(4, size=num)
    images = rng.normal(scale=0.6, size=(num, size, size, 1))
    for index, label in enumerate(labels):
        row, col = rng.integers(2, size - 2, size=2)
        if label in (0, 2):
            images[index, row, 1:-1, 0] += 1.5
        if label in (1, 2):
            images[index, 1:-1, col, 0] += 1.5
        if label == 3:
            images[index, row - 2 : row + 2, col - 2 : col + 2, 0] += 1.0
    return images.astype("float32"), labels.astype("int32")


def signal_shapes(num, rng, length=40):
    """Noisy 1-D signals of four shapes (sine, square, sawtooth, a single bump), one class each."""
    labels = rng.integers(4, size=num)
    t = np.linspace(0, 1, length)[None, :]
    period = rng.uniform(0.2, 0.5, size=(num, 1))
    phase = rng.uniform(0, 1, size=(num, 1))
    cycle = ((t / period) + phase) % 1.0
    shapes = np.stack(
        [
            np.sin(2 * np.pi * cycle),
            np.where(cycle < 0.5, 1.0, -1.0),
            2 * cycle - 1,
            2 * np.exp(-(((t - phase) / 0.08) ** 2)) - 0.5,
        ]
    )
    x = shapes[labels, np.arange(num)] + rng.normal(scale=0.8, size=(num, length))
    return x.astype("float32"), labels.astype("int32")


def _conv1d_classifier(seed, length=40, classes=4):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(length,)),
            keras.layers.Reshape((length, 1)),
            keras.layers.Conv1D(8, 7, activation="relu"),
            keras.layers.MaxPooling1D(2),
            keras.layers.Conv1D(8, 5, activation="relu"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


def _conv1d(seed, window):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(window,)),
            keras.layers.Reshape((window, 1)),
            keras.layers.Conv1D(8, 5, activation="relu"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1),
        ]
    )


def _gru(seed, window):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(window,)),
            keras.layers.Reshape((window, 1)),
            keras.layers.GRU(12),
            keras.layers.Dense(1),
        ]
    )


def _conv2d(seed, size=10):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(size, size, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="softmax"),
        ]
    )


def problems() -> list[Problem]:
    rng = np.random.default_rng(2026)
    _, series = synthetic_series()
    series_train, series_valid = _series_windows(series, 1000, 20)
    _, sunspots = sunspots_series()
    spots_train, spots_valid = _series_windows(sunspots, 250, 20)
    friedman_train, friedman_valid = friedman_regression(2000, rng), friedman_regression(1000, rng)
    centres = rng.normal(scale=2.0, size=(4, 6))
    blobs_train, blobs_valid = gaussian_blobs(1000, rng, centres), gaussian_blobs(1000, rng, centres)
    spiral_train, spiral_valid = spirals(1500, rng), spirals(1000, rng)
    dense_10 = _dense((10, 10), 1)
    # held-out problems: drawn from their own generator so that adding them changes nothing above
    held_rng = np.random.default_rng(4242)
    _, wide = synthetic_series(noise_level=10.0, amplitude=30.0, slope=0.08, seed=7)
    wide_train, wide_valid = _series_windows(wide, 1000, 30)
    circles_train, circles_valid = circles(1500, held_rng), circles(1000, held_rng)
    wavy_train, wavy_valid = wavy_regression(1500, held_rng), wavy_regression(1000, held_rng)
    # a second held-out batch (session 2), again from its own generator
    later_rng = np.random.default_rng(5151)
    _, series_b = synthetic_series(noise_level=3.0, amplitude=50.0, slope=0.02, seed=11)
    series_b_train, series_b_valid = _series_windows(series_b, 1000, 20)
    moons_train, moons_valid = moons(1500, later_rng), moons(1000, later_rng)
    sines_train, sines_valid = sum_of_sines(2000, later_rng), sum_of_sines(1000, later_rng)
    # a third batch (session 3, issue 13): other data, convolutional and recurrent models, plain
    # SGD, other batch sizes; scored by leave-one-problem-out like the rest
    third_rng = np.random.default_rng(1313)
    co2 = co2_series()
    co2_train, co2_valid = _series_windows(co2, 1700, 24)
    nino = elnino_series()
    nino_train, nino_valid = _series_windows(nino, 560, 12)
    fair_train, fair_valid = statsmodels_table(
        "fair", "rate_marriage", third_rng, transform=lambda y: (y - 1).astype("int32"), limit=3000
    )
    anes_train, anes_valid = statsmodels_table(
        "anes96", "PID", third_rng, transform=lambda y: y.astype("int32")
    )
    macro_train, macro_valid = statsmodels_table("macrodata", "realinv", third_rng)
    rand_train, rand_valid = statsmodels_table(
        "randhie", "mdvis", third_rng, transform=lambda y: np.log1p(y).astype("float32"), limit=3000
    )
    bars_train, bars_valid = bars_and_crosses(1200, third_rng), bars_and_crosses(600, third_rng)
    _, series_c = synthetic_series(noise_level=8.0, amplitude=20.0, slope=0.1, seed=23)
    series_c_train, series_c_valid = _series_windows(series_c, 1000, 20)
    star_train, star_valid = statsmodels_table("star98", "NABOVE", third_rng)
    engel_train, engel_valid = statsmodels_table("engel", "foodexp", third_rng)
    centres_10 = third_rng.normal(scale=1.0, size=(10, 20))
    blobs10_train, blobs10_valid = (
        gaussian_blobs(2000, third_rng, centres_10),
        gaussian_blobs(1000, third_rng, centres_10),
    )
    shapes_train, shapes_valid = signal_shapes(1200, third_rng), signal_shapes(600, third_rng)
    return [
        Problem(
            "series_dense",
            "regression",
            series_train,
            series_valid,
            lambda seed: dense_10(seed, 20),
            epochs=30,
            ranges={"sgd": (1e-8, 1e-3), "adam": (1e-5, 1.0)},
        ),
        Problem(
            "sunspots_dense",
            "regression",
            spots_train,
            spots_valid,
            lambda seed: dense_10(seed, 20),
            epochs=60,
            ranges={"sgd": (1e-9, 1e-3), "adam": (1e-5, 1.0)},
        ),
        Problem(
            "series_rnn",
            "regression",
            series_train,
            series_valid,
            lambda seed: _rnn(seed, 20),
            epochs=15,
            ranges={"sgd": (1e-8, 1e-3), "adam": (1e-6, 1e-1)},
        ),
        Problem(
            "friedman_mlp",
            "regression",
            friedman_train,
            friedman_valid,
            lambda seed: _dense((32, 32), 1)(seed, 10),
            epochs=20,
            ranges={"sgd": (1e-6, 1.0), "adam": (1e-5, 10.0)},
        ),
        Problem(
            "blobs_mlp",
            "classification",
            blobs_train,
            blobs_valid,
            lambda seed: _dense((16, 16), 4, "softmax")(seed, 6),
            epochs=15,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
        ),
        Problem(
            "spiral_mlp",
            "classification",
            spiral_train,
            spiral_valid,
            lambda seed: _dense((32, 32), 3, "softmax")(seed, 2),
            epochs=40,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
        ),
        Problem(
            "wide_series_dense",
            "regression",
            wide_train,
            wide_valid,
            lambda seed: _dense((30, 30), 1)(seed, 30),
            epochs=25,
            ranges={"sgd": (1e-8, 1e-3), "adam": (1e-5, 1.0)},
            split="holdout",
        ),
        Problem(
            "circles_mlp",
            "classification",
            circles_train,
            circles_valid,
            lambda seed: _dense((16, 16), 2, "softmax")(seed, 2),
            epochs=25,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="holdout",
        ),
        Problem(
            "wavy_tanh",
            "regression",
            wavy_train,
            wavy_valid,
            lambda seed: _dense((32, 32), 1, hidden="tanh")(seed, 1),
            epochs=30,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 1.0)},
            split="holdout",
        ),
        Problem(
            "series_b_dense",
            "regression",
            series_b_train,
            series_b_valid,
            lambda seed: dense_10(seed, 20),
            epochs=30,
            ranges={"sgd": (1e-8, 1e-3), "adam": (1e-5, 1.0)},
            split="holdout",
        ),
        Problem(
            "moons_mlp",
            "classification",
            moons_train,
            moons_valid,
            lambda seed: _dense((24, 24), 2, "softmax")(seed, 2),
            epochs=25,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="holdout",
        ),
        Problem(
            "sines_deep_mlp",
            "regression",
            sines_train,
            sines_valid,
            lambda seed: _dense((64, 64, 64), 1)(seed, 5),
            epochs=20,
            ranges={"sgd": (1e-6, 1.0), "adam": (1e-5, 10.0)},
            split="holdout",
        ),
        Problem(
            "co2_conv1d",
            "regression",
            co2_train,
            co2_valid,
            lambda seed: _conv1d(seed, 24),
            epochs=10,
            ranges={"sgd_plain": (1e-7, 1e-1), "adam": (1e-5, 10.0)},
            split="third",
            batch_size=64,
        ),
        Problem(
            "fair_mlp",
            "classification",
            fair_train,
            fair_valid,
            lambda seed: _dense((16,), 5, "softmax")(seed, 8),
            epochs=8,
            ranges={"sgd_plain": (1e-4, 100.0), "adam": (1e-6, 10.0)},
            split="third",
            batch_size=128,
        ),
        Problem(
            "macro_small_mlp",
            "regression",
            macro_train,
            macro_valid,
            lambda seed: _dense((16, 16), 1)(seed, 13),
            epochs=60,
            ranges={"sgd_plain": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="third",
            batch_size=16,
        ),
        Problem(
            "bars_conv2d",
            "classification",
            bars_train,
            bars_valid,
            _conv2d,
            epochs=10,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="third",
        ),
        Problem(
            "anes_mlp",
            "classification",
            anes_train,
            anes_valid,
            lambda seed: _dense((16, 16), 7, "softmax")(seed, 10),
            epochs=15,
            ranges={"sgd_plain": (1e-4, 100.0), "adam": (1e-6, 10.0)},
            split="third",
            batch_size=16,
        ),
        Problem(
            "elnino_gru",
            "regression",
            nino_train,
            nino_valid,
            lambda seed: _gru(seed, 12),
            epochs=15,
            ranges={"sgd": (1e-6, 10.0), "adam": (1e-5, 10.0)},
            split="third",
        ),
        Problem(
            "randhie_mlp",
            "regression",
            rand_train,
            rand_valid,
            lambda seed: _dense((32, 16), 1)(seed, 9),
            epochs=10,
            ranges={"sgd_plain": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="third",
            batch_size=128,
        ),
        Problem(
            "series_c_dense_plain",
            "regression",
            series_c_train,
            series_c_valid,
            lambda seed: dense_10(seed, 20),
            epochs=12,
            ranges={"sgd_plain": (1e-8, 1e-2), "adam": (1e-5, 1.0)},
            split="third",
            batch_size=16,
        ),
        Problem(
            "star98_mlp",
            "regression",
            star_train,
            star_valid,
            lambda seed: _dense((32, 16), 1)(seed, 21),
            epochs=40,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="third",
            batch_size=16,
        ),
        Problem(
            "engel_tiny_mlp",
            "regression",
            engel_train,
            engel_valid,
            lambda seed: _dense((8, 8), 1)(seed, 1),
            epochs=30,
            ranges={"sgd_plain": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="third",
            batch_size=8,
        ),
        Problem(
            "blobs10_mlp",
            "classification",
            blobs10_train,
            blobs10_valid,
            lambda seed: _dense((32,), 10, "softmax")(seed, 20),
            epochs=10,
            ranges={"sgd_plain": (1e-4, 100.0), "adam": (1e-6, 10.0)},
            split="third",
            batch_size=64,
        ),
        Problem(
            "shapes_conv1d",
            "classification",
            shapes_train,
            shapes_valid,
            _conv1d_classifier,
            epochs=12,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="third",
        ),
    ] + _sealed_problems()


def _sealed_problems() -> list[Problem]:
    """The sealed set (``sealed_problems.py``): made after the default rule was frozen."""
    from sealed_problems import sealed_problems

    return sealed_problems()


# ----------------------------------------------------------------------------- training


def make_optimizer(kind, lr):
    if kind == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=0.9)
    if kind == "sgd_plain":
        return keras.optimizers.SGD(learning_rate=lr)
    return keras.optimizers.Adam(learning_rate=lr)


def loss_and_metric(problem):
    if problem.task == "regression":
        return "mse", ["mae"]
    return "sparse_categorical_crossentropy", ["accuracy"]


def dataset(features, labels, seed, shuffle=True, batch_size=BATCH_SIZE):
    data = tf.data.Dataset.from_tensor_slices((features, labels)).cache()
    if shuffle:
        data = data.shuffle(1000, seed=seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _finite_or_inf(value):
    value = float(value)
    return value if np.isfinite(value) else float("inf")


def ground_truth(problem, kind, grid):
    """Validation metrics of fresh models trained at each fixed rate, one row per seed.

    One compiled model per seed is reused: before each rate its weights go back to the same
    initial values and the optimizer's state to zero, so nothing carries over between rates and
    nothing is traced twice.
    """
    loss, metrics = loss_and_metric(problem)
    valid = dataset(*problem.valid, seed=0, shuffle=False, batch_size=256)
    rows = {"val_loss": [], "val_metric": []}
    for seed in GROUND_TRUTH_SEEDS:
        model = problem.build(seed)
        initial = model.get_weights()
        optimizer = make_optimizer(kind, float(grid[0]))
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics, steps_per_execution=16)
        train = dataset(*problem.train, seed=seed, batch_size=problem.batch_size)
        losses, scores = [], []
        for lr in grid:
            model.set_weights(initial)
            for variable in optimizer.variables:
                variable.assign(tf.zeros_like(variable))
            optimizer.learning_rate.assign(float(lr))
            history = model.fit(train, epochs=problem.epochs, validation_data=valid, verbose=0).history
            # the mean over the last epochs: a rate that makes the weights rattle scores what it
            # gives on average, not what the final step happened to land on
            val_loss = np.mean(history["val_loss"][-LAST_EPOCHS:])
            val_score = np.mean(history["val_" + metrics[0]][-LAST_EPOCHS:])
            if not np.isfinite(val_loss):
                val_score = float("nan")
            losses.append(_finite_or_inf(val_loss))
            if problem.task == "classification":
                # accuracy: keep it as is (higher is better); a diverged run scores 0
                scores.append(float(val_score) if np.isfinite(val_score) else 0.0)
            else:
                scores.append(_finite_or_inf(val_score))
        rows["val_loss"].append(losses)
        rows["val_metric"].append(scores)
    return rows


def epoch_sweep(problem, kind, low, high, seed):
    """The lesson's sweep: one rate per epoch, cumulative, ``history.history['loss']``."""
    decades = np.log10(high / low)
    model = problem.build(seed)
    loss, metrics = loss_and_metric(problem)
    model.compile(optimizer=make_optimizer(kind, low), loss=loss, metrics=metrics)
    schedule = sweep_schedule(start=low, epochs_per_decade=EPOCH_SWEEP_EPOCHS / decades)
    history = model.fit(
        dataset(*problem.train, seed=seed, batch_size=problem.batch_size),
        epochs=EPOCH_SWEEP_EPOCHS,
        callbacks=[keras.callbacks.LearningRateScheduler(schedule)],
        verbose=0,
    )
    lrs = [schedule(epoch) for epoch in range(EPOCH_SWEEP_EPOCHS)]
    return lrs, [float(value) for value in history.history["loss"]]


#: per-batch sweeps: (seed, steps per decade). The first matches the range test's default
#: density (200 per decade), the second is a quick, coarse sweep.
BATCH_SWEEPS = ((SWEEP_SEEDS[0], 200), (SWEEP_SEEDS[1], 30))


def batch_sweep(problem, kind, low, high, seed, steps_per_decade):
    """One rate per batch, growing geometrically; the true loss of every batch is recorded.

    Uses the package's ``lr_range_test(per="batch")`` with its default stop (the smoothed loss
    exceeds 4 times its best), so the curves look like the ones students get. Without it (an
    old checkout) a small custom loop records the same thing and stops at the first
    non-finite loss.
    """
    model = problem.build(seed)
    num_steps = int(round(np.log10(high / low) * steps_per_decade)) + 1
    loss_name, metrics = loss_and_metric(problem)
    data = dataset(*problem.train, seed=seed, batch_size=problem.batch_size)
    try:
        from course_utils.range_test import lr_range_test
    except ImportError:
        return _batch_sweep_loop(model, kind, loss_name, data, low, high, num_steps)
    model.compile(optimizer=make_optimizer(kind, low), loss=loss_name, metrics=metrics)
    import inspect

    # the count of rates was called num_steps before it was called num_rates
    count = "num_rates" if "num_rates" in inspect.signature(lr_range_test).parameters else "num_steps"
    result = lr_range_test(model, data, per="batch", start_lr=low, end_lr=high, **{count: num_steps})
    return result.lrs.tolist(), result.losses.tolist()


def _batch_sweep_loop(model, kind, loss_name, data, low, high, num_steps):
    schedule = ExponentialSweep(low, high, num_steps)
    optimizer = make_optimizer(kind, schedule)
    loss_fn = keras.losses.get(loss_name)

    @tf.function
    def train_step(features, labels):
        with tf.GradientTape() as tape:
            predictions = model(features, training=True)
            batch_loss = tf.reduce_mean(loss_fn(labels, predictions))
        gradients = tape.gradient(batch_loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return batch_loss

    losses = []
    for features, labels in data.repeat().take(num_steps):
        losses.append(float(train_step(features, labels)))
        if not np.isfinite(losses[-1]):
            break
    return schedule.rates()[: len(losses)].tolist(), losses


def _round(values, digits=6):
    return [float(f"{value:.{digits}g}") if np.isfinite(value) else None for value in values]


def build_ground_truth(problem):
    entries = []
    for kind, (low, high) in problem.ranges.items():
        started = time.perf_counter()
        grid = np.geomspace(low, high, GRID_SIZE)
        truth = ground_truth(problem, kind, grid)
        entries.append(
            {
                "problem": problem.name,
                "split": problem.split,
                "task": problem.task,
                "optimizer": kind,
                "epochs": problem.epochs,
                "batch_size": problem.batch_size,
                "metric": "val_mae" if problem.task == "regression" else "val_accuracy",
                "lrs": _round(grid),
                "val_loss": [_round(row) for row in truth["val_loss"]],
                "val_metric": [_round(row) for row in truth["val_metric"]],
            }
        )
        print(f"{problem.name:16s} {kind:5s} ground truth {time.perf_counter() - started:6.1f} s", flush=True)
    return entries


def build_sweeps(problem, kinds_of_sweep=("epoch", "batch")):
    curves = []
    for kind, (low, high) in problem.ranges.items():
        started = time.perf_counter()
        runs = [("epoch", seed, epoch_sweep, ()) for seed in SWEEP_SEEDS]
        runs += [("batch", seed, batch_sweep, (density,)) for seed, density in BATCH_SWEEPS]
        runs = [run for run in runs if run[0] in kinds_of_sweep]
        for per, seed, sweep, extra in runs:
            lrs, losses = sweep(problem, kind, low, high, seed, *extra)
            curves.append(
                {
                    "id": f"{problem.name}/{kind}/{per}/{seed}",
                    "problem": problem.name,
                    "split": problem.split,
                    "task": problem.task,
                    "optimizer": kind,
                    "per": per,
                    "seed": seed,
                    "lrs": _round(lrs),
                    "losses": _round(losses),
                }
            )
        print(f"{problem.name:16s} {kind:5s} sweeps {time.perf_counter() - started:6.1f} s", flush=True)
    return curves


def _save(result):
    order = [p.name for p in problems()]
    result["ground_truth"].sort(key=lambda g: (order.index(g["problem"]), g["optimizer"]))
    result["curves"].sort(key=lambda c: (order.index(c["problem"]), c["optimizer"], c["per"], c["seed"]))
    result["about"] = (
        "Sweep curves and ground truth for learning-rate suggestions; made by make_curves.py. "
        "ground_truth: validation loss and metric (val_mae for regression, val_accuracy for "
        "classification) averaged over the last 3 epochs of training fresh models for `epochs` at each "
        "fixed rate, one row per seed."
    )
    # atomically: an interrupted run never leaves a half-written file behind
    partial = OUTPUT.with_suffix(".json.partial")
    partial.write_text(json.dumps(result, separators=(",", ":")) + "\n")
    os.replace(partial, OUTPUT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="regenerate only this problem (repeatable)")
    parser.add_argument(
        "--sweeps-only", action="store_true", help="re-record the sweeps, keep the stored ground truth"
    )
    parser.add_argument(
        "--per",
        choices=("epoch", "batch"),
        action="append",
        help="re-record only this kind of sweep, keep the others (repeatable; default both)",
    )
    parser.add_argument("--split", help="regenerate only the problems of this split (e.g. sealed)")
    args = parser.parse_args()
    kinds_of_sweep = tuple(args.per or ("epoch", "batch"))
    result = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {"ground_truth": [], "curves": []}
    for problem in problems():
        if args.only and problem.name not in args.only:
            continue
        if args.split and problem.split != args.split:
            continue
        if not args.sweeps_only:
            kept = [g for g in result["ground_truth"] if g["problem"] != problem.name]
            result["ground_truth"] = kept + build_ground_truth(problem)
        kept = [c for c in result["curves"] if c["problem"] != problem.name or c["per"] not in kinds_of_sweep]
        result["curves"] = kept + build_sweeps(problem, kinds_of_sweep)
        _save(result)  # after every problem, so an interrupted run keeps what it finished
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
