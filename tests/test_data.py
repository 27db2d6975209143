"""The course's data: the series is pinned to the lesson's values, windows match the lesson's pipeline."""

import numpy as np
import pytest

from course_utils import synthetic_series, windowed_dataset
from course_utils.data import (
    SPLIT_TIME,
    forecast_mae,
    make_windows,
    sunspots_series,
    train_valid_split,
)


def test_series_is_pinned_to_the_lessons_values():
    """Values taken from running the lesson's own trend/seasonality/noise code."""
    time, series = synthetic_series()
    assert series.dtype == np.float32 and time.dtype == np.float32
    assert len(series) == 1461
    expected = [52.48357, 49.35275, 53.314735, 33.65864, 66.2439, 67.19674, 71.34472, 122.30772]
    np.testing.assert_allclose(series[[0, 1, 2, 364, 365, 999, 1000, 1460]], expected, rtol=1e-6)
    assert float(series.astype(np.float64).sum()) == pytest.approx(78827.43889901042, rel=1e-9)
    assert (series.min(), series.max()) == pytest.approx((-21.603771, 122.30772), rel=1e-6)


def test_series_noise_depends_on_seed():
    _, series = synthetic_series()
    _, other = synthetic_series(seed=1)
    assert not np.allclose(series, other)


def test_split_is_at_1000():
    split = train_valid_split(*synthetic_series())
    assert split.split_time == SPLIT_TIME == 1000
    assert len(split.train) == 1000 and len(split.valid) == 461
    assert split.time_valid[0] == 1000


def test_windows_match_the_lessons_pipeline():
    """The lesson's tf.data window/flat_map pipeline, unshuffled, gives the same examples."""
    import tensorflow as tf

    series = np.arange(30, dtype="float32")
    reference = tf.data.Dataset.from_tensor_slices(series).window(6, shift=1, drop_remainder=True)
    reference = reference.flat_map(lambda window: window.batch(6)).map(lambda w: (w[:-1], w[-1]))
    ref_x, ref_y = zip(*[(x.numpy(), y.numpy()) for x, y in reference], strict=True)
    features, labels = make_windows(series, window_size=5)
    np.testing.assert_array_equal(features, np.stack(ref_x))
    np.testing.assert_array_equal(labels, np.array(ref_y))


def test_windowed_dataset_shapes_and_shuffling():
    split = train_valid_split(*synthetic_series())
    dataset = windowed_dataset(split.train, seed=3)
    batches = list(dataset)
    assert len(batches) == 31  # 980 windows in batches of 32
    assert batches[0][0].shape == (32, 20) and batches[-1][0].shape == (20, 20)
    first_epoch = np.concatenate([y.numpy() for _, y in batches])
    second_epoch = np.concatenate([y.numpy() for _, y in dataset])
    again = np.concatenate([y.numpy() for _, y in windowed_dataset(split.train, seed=3)])
    assert sorted(first_epoch) == sorted(make_windows(split.train)[1])
    assert not np.array_equal(first_epoch, second_epoch), "each epoch must get a new order"
    np.testing.assert_array_equal(first_epoch, again)  # same seed, same order


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"window_size": 0}, ValueError, "window_size"),
        ({"window_size": 2.5}, TypeError, "window_size"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"shuffle_buffer": -1}, ValueError, "shuffle_buffer"),
        ({"window_size": 5000}, ValueError, "longer than window_size"),
        ({"seed": "x"}, TypeError, "seed"),
    ],
)
def test_windowed_dataset_rejects_bad_input(kwargs, error, fragment):
    _, series = synthetic_series()
    with pytest.raises(error, match=fragment):
        windowed_dataset(series, **kwargs)


def test_windowed_dataset_rejects_a_2d_series():
    with pytest.raises(ValueError, match="series must be 1-D"):
        windowed_dataset(np.zeros((10, 2)))


def test_train_valid_split_rejects_mismatch_and_bad_split():
    with pytest.raises(ValueError, match="same length"):
        train_valid_split(np.arange(5), np.arange(6))
    with pytest.raises(ValueError, match="split_time"):
        train_valid_split(np.arange(5), np.arange(5), split_time=5)


def test_sunspots_ship_with_statsmodels():
    years, activity = sunspots_series()
    assert years[0] == 1700 and years[-1] == 2008 and len(activity) == 309
    assert activity.dtype == np.float32 and activity.min() >= 0


def test_forecast_mae_of_a_persistence_model():
    """A 'model' that predicts the last value of the window: MAE equals the mean absolute day-to-day change."""

    class LastValue:
        def predict(self, features, batch_size=None, verbose=0):
            return features[:, -1:]

    _, series = synthetic_series()
    expected = np.mean(np.abs(series[SPLIT_TIME:] - series[SPLIT_TIME - 1 : -1]))
    assert forecast_mae(LastValue(), series) == pytest.approx(expected, rel=1e-6)
