"""The course's data: the synthetic series, windowed training sets and a real series.

Everything is made locally or read from a package (no downloads), and seeded, so that every run
of a notebook sees the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from course_utils._validate import as_1d_float_array, check_int

#: The course's series: four years and a day of daily values, split after 1000 days.
SERIES_LENGTH = 4 * 365 + 1
SPLIT_TIME = 1000
WINDOW_SIZE = 20
BATCH_SIZE = 32
SHUFFLE_BUFFER = 1000


def seasonal_pattern(season_time: np.ndarray) -> np.ndarray:
    """One season's shape: a cosine for the first 40 % of the period, then an exponential tail."""
    return np.where(season_time < 0.4, np.cos(season_time * 2 * np.pi), 1 / np.exp(3 * season_time))


def synthetic_series(
    *,
    baseline: float = 10.0,
    slope: float = 0.05,
    period: int = 365,
    amplitude: float = 40.0,
    noise_level: float = 5.0,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(time, series)``, the course's trend + seasonality + noise series.

    With the defaults this reproduces the lesson's values exactly (float32, noise drawn from
    ``np.random.RandomState(42)``), so numbers in the notebooks match what students saw there.
    """
    period = check_int("period", period, minimum=1)
    time = np.arange(SERIES_LENGTH, dtype="float32")
    season_time = (time % period) / period
    series = baseline + slope * time + amplitude * seasonal_pattern(season_time)
    # In-place add keeps float32, as the lesson's `series += noise(...)` does.
    series += np.random.RandomState(seed).randn(len(time)) * noise_level
    return time, series


@dataclass(frozen=True)
class Split:
    """A series cut at ``split_time``: the model learns on ``train`` and is judged on ``valid``."""

    time_train: np.ndarray
    train: np.ndarray
    time_valid: np.ndarray
    valid: np.ndarray
    split_time: int


def train_valid_split(time, series, split_time: int = SPLIT_TIME) -> Split:
    """Split ``(time, series)`` at index ``split_time``."""
    time = as_1d_float_array("time", time, min_length=2)
    series = as_1d_float_array("series", series, min_length=2)
    if len(time) != len(series):
        raise ValueError(f"time and series must have the same length; got {len(time)} and {len(series)}.")
    split_time = check_int("split_time", split_time, minimum=1, maximum=len(series) - 1)
    return Split(
        time_train=time[:split_time].astype("float32"),
        train=series[:split_time].astype("float32"),
        time_valid=time[split_time:].astype("float32"),
        valid=series[split_time:].astype("float32"),
        split_time=split_time,
    )


def make_windows(series, window_size: int = WINDOW_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Every run of ``window_size`` values as features, the value after it as the label."""
    series = as_1d_float_array("series", series)
    window_size = check_int("window_size", window_size, minimum=1)
    if len(series) <= window_size:
        raise ValueError(
            f"series must be longer than window_size={window_size} to make one window; got {len(series)} values."
        )
    windows = np.lib.stride_tricks.sliding_window_view(series.astype("float32"), window_size + 1)
    return np.ascontiguousarray(windows[:, :-1]), np.ascontiguousarray(windows[:, -1])


def windowed_dataset(
    series,
    window_size: int = WINDOW_SIZE,
    batch_size: int = BATCH_SIZE,
    shuffle_buffer: int = SHUFFLE_BUFFER,
    seed: int | None = None,
):
    """A ``tf.data.Dataset`` of ``(window, next_value)`` batches, as in the lesson.

    The windows are cut once with NumPy and cached, so every epoch only reshuffles them: the
    same examples as the lesson's ``window``/``flat_map`` pipeline, without rebuilding them per
    epoch. ``seed`` fixes the shuffle order (each epoch still gets a new order).
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    shuffle_buffer = check_int("shuffle_buffer", shuffle_buffer, minimum=0)
    if seed is not None:
        seed = check_int("seed", seed, minimum=0)
    features, labels = make_windows(series, window_size)
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).cache()
    if shuffle_buffer > 0:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def sunspots_series() -> tuple[np.ndarray, np.ndarray]:
    """Return ``(year, sunspot_activity)`` for 1700-2008, shipped with statsmodels (no download).

    A real, noisier series with an 11-year cycle, for trying the methods away from the
    synthetic data.
    """
    from statsmodels.datasets import sunspots

    frame = sunspots.load_pandas().data
    return frame["YEAR"].to_numpy(dtype="float32"), frame["SUNACTIVITY"].to_numpy(dtype="float32")


def forecast(model, series, window_size: int = WINDOW_SIZE) -> np.ndarray:
    """One-step forecasts: the prediction for index ``t`` uses ``series[t - window_size:t]``.

    All windows go through the model in one batch, so this is quick even for the whole series.
    Element ``i`` is the forecast for ``series[i + window_size]``.
    """
    features, _ = make_windows(series, window_size)
    return model.predict(features, batch_size=1024, verbose=0).reshape(-1)


def forecast_mae(model, series, split_time: int = SPLIT_TIME, window_size: int = WINDOW_SIZE) -> float:
    """Mean absolute error of one-step forecasts over the validation part (``series[split_time:]``)."""
    series = as_1d_float_array("series", series)
    split_time = check_int("split_time", split_time, minimum=window_size, maximum=len(series) - 1)
    predictions = forecast(model, series, window_size)[split_time - window_size :]
    return float(np.mean(np.abs(predictions - series[split_time:])))
