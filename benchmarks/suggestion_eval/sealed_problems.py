"""A sealed set of eight evaluation problems for learning-rate suggestions.

These problems were written by someone who never saw the stored curves, the benchmark scores or
the suggestion rule, and their curves were made after the rule of commit 60575a3 was committed
(two time series, two
tabular regressions on statsmodels data sets not used elsewhere, four classifications; Dense,
convolutional and recurrent models; all three optimizer kinds; batch sizes 8 to 128). That rule's
score on them is the one number no choice could have fitted, and ``bench_suggest.py`` prints it.
The smooth rule's branch for sweeps whose loss blew up was added after reading their misses, so
today's score on them is no longer unseen: they now count like the other problems in
leave-one-problem-out, and the next rule change needs a new sealed set.
"""

from __future__ import annotations

import keras
import numpy as np

# ----------------------------------------------------------------------------- data sets


def two_season_series(rng, length=4 * 365 + 1):
    """Daily values with a falling trend, a yearly and a weekly cycle and heavy-tailed noise.

    Unlike the course's series (rising trend, one yearly season, Gaussian noise) this one falls,
    repeats every week as well as every year and has Student-t noise (three degrees of freedom),
    so a few days are far off. Not centred: the values stay around 40-140.
    """
    time = np.arange(length, dtype="float64")
    weekly = np.array([1.0, 1.2, 1.1, 0.9, 0.6, -2.0, -2.8])[time.astype(int) % 7]
    series = (
        110.0
        - 0.025 * time
        + 22.0 * np.sin(2 * np.pi * time / 365.25)
        + 6.0 * weekly
        + 3.0 * rng.standard_t(3, size=length)
    )
    return series.astype("float32")


def grunfeld_table():
    """Grunfeld's investment data (11 firms x 20 years): log investment from log firm value, log
    capital stock, the year and the firm (one-hot)."""
    import statsmodels.api as sm

    frame = sm.datasets.grunfeld.load_pandas().data
    firms = sorted(frame["firm"].unique())
    onehot = (frame["firm"].to_numpy()[:, None] == np.array(firms)[None, :]).astype("float64")
    x = np.column_stack(
        [
            np.log(frame["value"].to_numpy(dtype="float64")),
            np.log1p(frame["capital"].to_numpy(dtype="float64")),
            frame["year"].to_numpy(dtype="float64"),
            onehot,
        ]
    )
    y = np.log(frame["invest"].to_numpy(dtype="float64")).astype("float32")
    return x, y


def mode_choice_table():
    """Travel-mode choice of 210 travellers (statsmodels ``modechoice``): each row holds the
    terminal time, in-vehicle cost, in-vehicle time and generalised cost of all four modes (air,
    train, bus, car) plus household income and party size; the label is the mode chosen (0-3)."""
    import statsmodels.api as sm

    frame = sm.datasets.modechoice.load_pandas().data.sort_values(["individual", "mode"])
    attributes = frame[["ttme", "invc", "invt", "gc"]].to_numpy(dtype="float64").reshape(-1, 16)
    people = frame.groupby("individual", sort=True)
    x = np.column_stack([attributes, people["hinc"].first().to_numpy(), people["psize"].first().to_numpy()])
    chosen = frame[frame["choice"] == 1].sort_values("individual")["mode"].to_numpy()
    return x, (chosen - 1).astype("int32")


def gratings(num, rng, size=12):
    """Noisy ``size`` x ``size`` images of stripes in one of four orientations (0, 45, 90, 135
    degrees), with random spatial frequency, phase and contrast; one class per orientation."""
    labels = rng.integers(4, size=num)
    angle = labels * np.pi / 4 + rng.normal(scale=0.1, size=num)
    frequency = rng.uniform(0.15, 0.3, size=num)
    phase = rng.uniform(0, 2 * np.pi, size=num)
    contrast = rng.uniform(0.5, 1.5, size=num)
    rows, cols = np.mgrid[0:size, 0:size]
    along = np.cos(angle)[:, None, None] * cols + np.sin(angle)[:, None, None] * rows
    stripes = np.sin(2 * np.pi * frequency[:, None, None] * along + phase[:, None, None])
    images = contrast[:, None, None] * stripes + rng.normal(scale=1.0, size=(num, size, size))
    return images[..., None].astype("float32"), labels.astype("int32")


def trend_shapes(num, rng, length=30):
    """Noisy sequences that rise, fall, rise then fall (a peak) or fall then rise (a valley),
    at a random level and steepness, the turning point anywhere in the middle half; one class each."""
    labels = rng.integers(4, size=num)
    t = np.linspace(0, 1, length)[None, :]
    turn = rng.uniform(0.25, 0.75, size=(num, 1))
    slope = rng.uniform(1.0, 3.0, size=(num, 1))
    shapes = np.stack(
        [
            np.broadcast_to(t, (num, length)),
            np.broadcast_to(-t, (num, length)),
            -np.abs(t - turn),
            np.abs(t - turn),
        ]
    )
    x = slope * shapes[labels, np.arange(num)] + rng.normal(size=(num, 1)) * 2.0
    x = x + rng.normal(scale=0.5, size=(num, length))
    return x.astype("float32"), labels.astype("int32")


def checkerboard(num, rng, cells=4, classes=3, noise=0.05):
    """Points uniform on a ``cells`` x ``cells`` board in [-2, 2]^2, the class of a square cycling
    through ``classes`` along rows and columns, a little jitter across the borders."""
    x = rng.uniform(-2, 2, size=(num, 2))
    square = np.floor((x + 2) * cells / 4).clip(0, cells - 1).astype(int)
    labels = (square[:, 0] + square[:, 1]) % classes
    x = x + rng.normal(scale=noise, size=x.shape)
    return x.astype("float32"), labels.astype("int32")


# ----------------------------------------------------------------------------- models


def _dilated_conv1d(seed, window):
    """Two causal Conv1D layers (dilation 1, then 7: one week) on the raw window, flattened."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(window,)),
            keras.layers.Reshape((window, 1)),
            keras.layers.Conv1D(8, 3, padding="causal", activation="relu"),
            keras.layers.Conv1D(8, 4, dilation_rate=7, padding="causal", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )


def _scaled_gru(seed, window, scale=100.0):
    """A GRU on inputs divided by ``scale``, its output multiplied back."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(window,)),
            keras.layers.Rescaling(1.0 / scale),
            keras.layers.Reshape((window, 1)),
            keras.layers.GRU(16),
            keras.layers.Dense(1),
            keras.layers.Rescaling(scale),
        ]
    )


def _gru_classifier(seed, length=30, classes=4):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(length,)),
            keras.layers.Reshape((length, 1)),
            keras.layers.GRU(16),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


def _conv2d_pooled(seed, size=12, classes=4):
    """Two 3x3 convolutions and a global average: no Dense layer between the features and the output."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(size, size, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )


# ----------------------------------------------------------------------------- problems


def sealed_problems():
    """The eight sealed problems (``split="sealed"``), each data set from its own seeded generator."""
    from make_curves import Problem, _dense, _series_windows, _split, _standardise, statsmodels_table

    from course_utils.data import sunspots_series

    seasons = two_season_series(np.random.default_rng(7001))
    seasons_train, seasons_valid = _series_windows(seasons, 1100, 28)
    _, sunspots = sunspots_series()
    spots_train, spots_valid = _series_windows(sunspots, 250, 20)
    grunfeld_train, grunfeld_valid = _standardise(*_split(*grunfeld_table(), np.random.default_rng(7003)))
    crime_train, crime_valid = statsmodels_table(
        "statecrime", "violent", np.random.default_rng(7004), transform=lambda y: np.log(y).astype("float32")
    )
    mode_train, mode_valid = _standardise(*_split(*mode_choice_table(), np.random.default_rng(7005)))
    gratings_rng = np.random.default_rng(7006)
    gratings_train, gratings_valid = gratings(1500, gratings_rng), gratings(600, gratings_rng)
    trends_rng = np.random.default_rng(7007)
    trends_train, trends_valid = trend_shapes(1200, trends_rng), trend_shapes(600, trends_rng)
    board_rng = np.random.default_rng(7008)
    board_train, board_valid = checkerboard(4000, board_rng), checkerboard(1500, board_rng)
    return [
        Problem(
            "seasons2_dilated_conv1d",
            "regression",
            seasons_train,
            seasons_valid,
            lambda seed: _dilated_conv1d(seed, 28),
            epochs=12,
            ranges={"sgd": (1e-11, 1e-3), "adam": (1e-6, 10.0)},
            split="sealed",
            batch_size=64,
        ),
        Problem(
            "sunspots_gru",
            "regression",
            spots_train,
            spots_valid,
            lambda seed: _scaled_gru(seed, 20),
            epochs=20,
            ranges={"sgd_plain": (1e-9, 1e-2), "adam": (1e-6, 10.0)},
            split="sealed",
            batch_size=16,
        ),
        Problem(
            "grunfeld_mlp",
            "regression",
            grunfeld_train,
            grunfeld_valid,
            lambda seed: _dense((16, 16), 1)(seed, 14),
            epochs=40,
            ranges={"sgd": (1e-6, 10.0), "adam": (1e-6, 10.0)},
            split="sealed",
            batch_size=16,
        ),
        Problem(
            "statecrime_tiny_mlp",
            "regression",
            crime_train,
            crime_valid,
            lambda seed: _dense((8,), 1)(seed, 6),
            epochs=60,
            ranges={"sgd_plain": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="sealed",
            batch_size=8,
        ),
        Problem(
            "modechoice_mlp",
            "classification",
            mode_train,
            mode_valid,
            lambda seed: _dense((32,), 4, "softmax")(seed, 18),
            epochs=40,
            ranges={"sgd_plain": (1e-4, 100.0), "adam": (1e-6, 10.0)},
            split="sealed",
            batch_size=16,
        ),
        Problem(
            "gratings_conv2d",
            "classification",
            gratings_train,
            gratings_valid,
            _conv2d_pooled,
            epochs=10,
            ranges={"sgd_plain": (1e-4, 100.0), "adam": (1e-6, 10.0)},
            split="sealed",
            batch_size=32,
        ),
        Problem(
            "trends_gru",
            "classification",
            trends_train,
            trends_valid,
            _gru_classifier,
            epochs=10,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="sealed",
            batch_size=64,
        ),
        Problem(
            "checker3_deep_mlp",
            "classification",
            board_train,
            board_valid,
            lambda seed: _dense((32, 32, 32), 3, "softmax")(seed, 2),
            epochs=30,
            ranges={"sgd": (1e-5, 10.0), "adam": (1e-6, 10.0)},
            split="sealed",
            batch_size=128,
        ),
    ]
