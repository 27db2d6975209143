"""Tests for course_utils.plots: what each figure draws, read back from the Axes."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from course_utils import plots  # noqa: E402

from support.sweeps import lesson_like_sweep  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def new_axes():
    """Axes on a figure pyplot does not track, so property tests leave nothing open."""
    return Figure().add_subplot()


def labelled(ax, prefix):
    return [line for line in ax.get_lines() if line.get_label().startswith(prefix)]


# ---------------------------------------------------------------- plot_series


def test_plot_series_draws_the_slice_on_the_given_axes():
    time = np.arange(50.0)
    series = time**2
    ax = new_axes()
    returned = plots.plot_series(time, series, ax=ax, start=10, end=20, label="square", fmt=".")
    assert returned is ax
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), time[10:20])
    np.testing.assert_array_equal(line.get_ydata(), series[10:20])
    assert line.get_marker() == "."
    assert ax.get_legend().get_texts()[0].get_text() == "square"


def test_plot_series_makes_a_figure_when_no_axes_is_given():
    before = len(plt.get_fignums())
    ax = plots.plot_series([0, 1, 2], [3, 4, 5])
    assert len(plt.get_fignums()) == before + 1
    assert ax.figure.number in plt.get_fignums()
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [3, 4, 5])


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"time": [0, 1, 2], "series": [1, 2]}, ValueError, ["time", "series", "3", "2"]),
        ({"start": 5}, ValueError, ["start", "5"]),
        ({"start": 1, "end": 1}, ValueError, ["end", "1"]),
        ({"start": 1.5}, TypeError, ["start", "1.5"]),
        ({"fmt": 3}, TypeError, ["fmt", "3"]),
        ({"series": "abc"}, TypeError, ["series", "abc"]),
        ({"label": 7}, TypeError, ["label", "7"]),
        ({"ax": "axes"}, TypeError, ["ax", "axes"]),
    ],
)
def test_plot_series_rejects_bad_input_naming_it(kwargs, error, words):
    arguments = {"time": [0, 1, 2], "series": [1, 2, 3], "ax": new_axes(), **kwargs}
    with pytest.raises(error) as raised:
        plots.plot_series(**arguments)
    for word in words:
        assert word in str(raised.value)


# ---------------------------------------------------------------- plot_history


class FakeHistory:
    """Stands in for keras.callbacks.History: only the ``history`` dict matters."""

    def __init__(self, history):
        self.history = history


def test_plot_history_reads_a_history_object_and_counts_epochs_from_one():
    history = FakeHistory({"loss": [9.0, 4.0, 2.0, 1.0], "mae": [3.0, 2.0, 1.5, 1.0]})
    ax = plots.plot_history(history, keys=("loss", "mae"), ax=new_axes(), skip=1, label="run")
    loss_line, mae_line = ax.get_lines()
    np.testing.assert_array_equal(loss_line.get_xdata(), [2, 3, 4])
    np.testing.assert_array_equal(loss_line.get_ydata(), [4.0, 2.0, 1.0])
    np.testing.assert_array_equal(mae_line.get_ydata(), [2.0, 1.5, 1.0])
    assert [line.get_label() for line in (loss_line, mae_line)] == ["run loss", "run mae"]
    assert ax.get_yscale() == "linear"


def test_plot_history_accepts_a_dict_log_axis_and_shows_divergence_as_a_gap():
    ax = plots.plot_history({"loss": [5.0, 3.0, math.inf, math.nan]}, ax=new_axes(), log=True)
    (line,) = ax.get_lines()
    ydata = np.asarray(line.get_ydata(), dtype=float)
    np.testing.assert_array_equal(ydata[:2], [5.0, 3.0])
    assert np.isnan(ydata[2:]).all()
    assert ax.get_yscale() == "log"
    assert line.get_label() == "loss"


def test_plot_history_with_a_real_keras_history():
    import keras

    history = keras.callbacks.History()
    history.history = {"loss": [2.0, 1.0]}
    ax = plots.plot_history(history, ax=new_axes())
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [2.0, 1.0])


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        (({"loss": [1, 2]},), {"keys": ("val_loss",)}, ValueError, ["val_loss", "loss"]),
        (({"loss": [1, 2]},), {"keys": ()}, ValueError, ["keys"]),
        (({"loss": [1, 2]},), {"skip": 2}, ValueError, ["skip", "2"]),
        (({"loss": [1, 2]},), {"skip": -1}, ValueError, ["skip", "-1"]),
        (([1, 2, 3],), {}, TypeError, ["history_or_dict", "list"]),
        (({"loss": "abc"},), {}, TypeError, ["loss", "abc"]),
    ],
)
def test_plot_history_rejects_bad_input_naming_it(args, kwargs, error, words):
    with pytest.raises(error) as raised:
        plots.plot_history(*args, ax=new_axes(), **kwargs)
    for word in words:
        assert word in str(raised.value)


# ---------------------------------------------------------------- loss_at


def test_loss_at_interpolates_on_the_log_axis():
    lrs = [1e-6, 1e-4]
    losses = [10.0, 20.0]
    # The geometric mean is half-way on a log axis (on a linear axis 1e-5 would sit near the start).
    assert plots.loss_at(lrs, losses, 1e-5) == pytest.approx(15.0)
    assert plots.loss_at(lrs, losses, 1e-6) == pytest.approx(10.0)


def test_loss_at_skips_nan_and_says_nan_where_the_sweep_has_no_loss():
    lrs = [1e-6, 1e-5, 1e-4, 1e-3]
    losses = [10.0, math.nan, 30.0, math.inf]
    assert plots.loss_at(lrs, losses, 1e-5) == pytest.approx(20.0)
    assert math.isnan(plots.loss_at(lrs, losses, 1e-3))
    assert math.isnan(plots.loss_at(lrs, losses, 1e-7))


# ---------------------------------------------------------------- plot_sweep


def test_plot_sweep_uses_a_log_rate_axis_and_leaves_out_non_finite_losses():
    lrs, losses = lesson_like_sweep(diverge_at=90)
    losses[10] = math.inf
    ax = plots.plot_sweep(lrs, losses, ax=new_axes())
    assert ax.get_xscale() == "log"
    (line,) = ax.get_lines()
    finite = np.isfinite(losses)
    np.testing.assert_array_equal(line.get_xdata(), lrs[finite])
    np.testing.assert_array_equal(line.get_ydata(), losses[finite])
    assert ax.get_xlim() == pytest.approx((lrs[0], lrs[-1]))


def test_plot_sweep_suggestion_markers_sit_on_the_curve():
    lrs, losses = lesson_like_sweep()
    suggestions = {"valley": 3e-6, "steepest": 5e-7}
    ax = plots.plot_sweep(lrs, losses, suggestions=suggestions, ax=new_axes())
    for name, lr in suggestions.items():
        (marker,) = labelled(ax, name)
        assert marker.get_xdata()[0] == pytest.approx(lr)
        assert marker.get_ydata()[0] == pytest.approx(plots.loss_at(lrs, losses, lr))
    legend_texts = [text.get_text() for text in ax.get_legend().get_texts()]
    assert any(text.startswith("valley") for text in legend_texts)
    assert any(text.startswith("steepest") for text in legend_texts)


def test_plot_sweep_pins_a_suggestion_above_the_frame_to_its_top_edge():
    lrs, losses = lesson_like_sweep()
    ax = plots.plot_sweep(lrs, losses, suggestions={"steepest": 1e-6}, ylim=(0, 20), ax=new_axes())
    assert plots.loss_at(lrs, losses, 1e-6) > 20
    (marker,) = labelled(ax, "steepest")
    assert marker.get_ydata()[0] == 20
    assert marker.get_marker() == "^"


def test_plot_sweep_markers_follow_the_smoothed_curve_when_given():
    lrs, losses = lesson_like_sweep(diverge_at=100)
    smoothed = losses + 5.0
    ax = plots.plot_sweep(lrs, losses, smoothed=smoothed, suggestions={"valley": 1e-6}, ax=new_axes())
    (marker,) = labelled(ax, "valley")
    assert marker.get_ydata()[0] == pytest.approx(plots.loss_at(lrs, smoothed, 1e-6))
    assert len(labelled(ax, "smoothed loss")) == 1


def test_plot_sweep_marks_a_suggestion_in_the_diverged_tail_with_a_line():
    lrs, losses = lesson_like_sweep(diverge_at=80)
    ax = plots.plot_sweep(lrs, losses, suggestions={"minimum": lrs[90]}, ax=new_axes())
    (line,) = labelled(ax, "minimum")
    np.testing.assert_allclose(line.get_xdata(), [lrs[90], lrs[90]])


def test_plot_sweep_shades_exactly_the_usable_range():
    lrs, losses = lesson_like_sweep()
    ax = plots.plot_sweep(lrs, losses, usable=(2e-7, 3e-5), ax=new_axes())
    (span,) = [patch for patch in ax.patches if patch.get_label() == plots.USABLE_LABEL]
    corners = span.get_path().transformed(span.get_patch_transform()).vertices[:, 0]
    assert corners.min() == pytest.approx(2e-7)
    assert corners.max() == pytest.approx(3e-5)


def test_plot_sweep_automatic_ylim_keeps_the_valley_readable_despite_a_huge_tail():
    lrs, losses = lesson_like_sweep(diverge_at=100)
    losses[85:] = np.geomspace(1e3, 1e9, 15)  # finite but enormous: a diverged tail
    ax = plots.plot_sweep(lrs, losses, ax=new_axes())
    bottom, top = ax.get_ylim()
    start_level = np.median(losses[:10])
    assert top >= start_level  # the start of the sweep is in the frame
    assert top < 2 * start_level  # and the tail does not stretch the axis
    assert bottom <= np.nanmin(losses) < top


def test_plot_sweep_automatic_ylim_clips_an_untrained_start_and_a_spike():
    """The course's epoch sweep: a huge first-epoch loss, a long slow valley, a spike, a plateau."""
    lrs = 1e-8 * 10 ** (np.arange(100) / 20)
    losses = np.concatenate(
        [
            np.geomspace(3500, 260, 8),  # the untrained model's first epochs
            np.linspace(250, 50, 52),  # the valley
            [60, 1600, 5e4, 1800, 500],  # the rate becomes unstable
            np.full(35, 390.0),  # dead units: the loss settles near the target's variance
        ]
    )
    ax = plots.plot_sweep(lrs, losses, ax=new_axes())
    bottom, top = ax.get_ylim()
    assert 390 < top < 500  # the whole valley and the plateau show, the spike and start do not stretch it
    assert bottom < 50


def test_plot_sweep_uses_the_given_ylim():
    lrs, losses = lesson_like_sweep()
    ax = plots.plot_sweep(lrs, losses, ylim=(0, 300), ax=new_axes())
    assert ax.get_ylim() == (0, 300)


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        ({"lrs": [1e-3, 1e-4, 1e-5]}, ValueError, ["lrs", "increase"]),
        ({"lrs": [-1e-3, 1e-4, 1e-2]}, ValueError, ["lrs", "-0.001"]),
        ({"lrs": [1e-4, 1e-3]}, ValueError, ["lrs", "losses", "2", "3"]),
        ({"losses": [math.nan, math.nan, 1.0]}, ValueError, ["losses", "finite"]),
        ({"smoothed": [1.0]}, ValueError, ["smoothed", "1"]),
        ({"suggestions": [1e-4]}, TypeError, ["suggestions", "list"]),
        ({"suggestions": {"valley": -1.0}}, ValueError, ["valley", "-1.0"]),
        ({"usable": (1e-3, 1e-5)}, ValueError, ["usable", "0.001"]),
        ({"usable": 1e-4}, TypeError, ["usable", "0.0001"]),
        ({"ylim": (5, 1)}, ValueError, ["ylim", "5"]),
        ({"ylim": "auto"}, TypeError, ["ylim", "auto"]),
    ],
)
def test_plot_sweep_rejects_bad_input_naming_it(change, error, words):
    arguments = {"lrs": [1e-5, 1e-4, 1e-3], "losses": [3.0, 2.0, 1.0], "ax": new_axes(), **change}
    lrs, losses = arguments.pop("lrs"), arguments.pop("losses")
    with pytest.raises(error) as raised:
        plots.plot_sweep(lrs, losses, **arguments)
    for word in words:
        assert word in str(raised.value)


losses_with_holes = st.lists(
    st.one_of(
        st.floats(min_value=-1e6, max_value=1e12, allow_nan=False),
        st.just(math.nan),
        st.just(math.inf),
    ),
    min_size=2,
    max_size=60,
)


@settings(max_examples=40, deadline=None)
@given(losses=losses_with_holes)
def test_plot_sweep_draws_any_curve_or_explains_why_not(losses):
    """Random curves with NaN/inf holes: a drawing with a sane y-range, or a ValueError on too few points."""
    lrs = np.geomspace(1e-8, 1.0, len(losses))
    ax = new_axes()
    try:
        plots.plot_sweep(lrs, losses, suggestions={"any": 1e-4}, usable=(1e-6, 1e-4), ax=ax)
    except ValueError as error:
        assert np.isfinite(losses).sum() < 2, error
        return
    bottom, top = ax.get_ylim()
    assert math.isfinite(bottom) and math.isfinite(top) and bottom < top
    assert ax.get_xscale() == "log"


# ---------------------------------------------------------------- plot_schedules


def test_plot_schedules_draws_one_line_per_schedule_against_the_step():
    schedules = {"constant": [1e-3] * 5, "falling": [1e-3, 5e-4, 2e-4, 1e-4, 0.0]}
    ax = plots.plot_schedules(schedules, ax=new_axes())
    assert [line.get_label() for line in ax.get_lines()] == ["constant", "falling"]
    assert ax.get_yscale() == "log"
    falling = np.asarray(ax.get_lines()[1].get_ydata(), dtype=float)
    np.testing.assert_array_equal(np.asarray(ax.get_lines()[1].get_xdata()), np.arange(5))
    np.testing.assert_array_equal(falling[:4], [1e-3, 5e-4, 2e-4, 1e-4])
    assert np.isnan(falling[4])  # zero has no place on a log axis


def test_plot_schedules_linear_axis_keeps_zero():
    ax = plots.plot_schedules({"cosine": [1.0, 0.5, 0.0]}, ax=new_axes(), log=False)
    assert ax.get_yscale() == "linear"
    np.testing.assert_array_equal(ax.get_lines()[0].get_ydata(), [1.0, 0.5, 0.0])


@pytest.mark.parametrize(
    ("schedules", "error", "words"),
    [
        ({}, ValueError, ["schedules", "empty"]),
        ([1e-3, 1e-4], TypeError, ["schedules", "list"]),
        ({"bad": [1e-3, -1.0]}, ValueError, ["bad", "-1.0"]),
        ({"bad": [1e-3, math.nan]}, ValueError, ["bad", "nan"]),
    ],
)
def test_plot_schedules_rejects_bad_input_naming_it(schedules, error, words):
    with pytest.raises(error) as raised:
        plots.plot_schedules(schedules, ax=new_axes())
    for word in words:
        assert word in str(raised.value)


# --- trial grids: seeds as a band, rate x momentum as a heat map ---------------------------------


def test_seed_band_counts_a_diverged_seed_as_worse_than_any():
    values = np.array([[3.0, 1.0, np.nan], [1.0, np.inf, np.nan], [2.0, 2.0, 5.0]])
    median, low, high = plots.seed_band(values)
    np.testing.assert_array_equal(median, [2.0, 2.0, np.nan])  # 2 of 3 seeds diverged: no median
    np.testing.assert_array_equal(low, [1.0, 1.0, 5.0])
    np.testing.assert_array_equal(high, [3.0, np.nan, np.nan])


def test_plot_seed_band_draws_the_median_and_the_band_between_the_extremes():
    values = np.array([[4.0, 2.0, 1.0], [6.0, 3.0, 2.0], [5.0, 4.0, 1.5]])
    ax = plots.plot_seed_band([1, 2, 3], values, label="valley")
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [5.0, 3.0, 1.5])
    assert line.get_label() == "valley (median of 3 seeds)" and ax.get_yscale() == "log"
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == 1.0 and band[:, 1].max() == 6.0
    plt.close(ax.figure)


@pytest.mark.parametrize(
    ("values", "words"),
    [(np.ones(3), ["values", "(seeds, 3)", "(3,)"]), (np.ones((2, 4)), ["values", "(2, 4)"])],
)
def test_plot_seed_band_rejects_a_wrong_shape_naming_it(values, words):
    with pytest.raises(ValueError) as error:
        plots.plot_seed_band([1, 2, 3], values)
    for word in words:
        assert word in str(error.value)


def test_plot_trial_grid_draws_one_cell_per_trial_and_leaves_diverged_ones_blank():
    lrs, momenta = np.geomspace(1e-6, 1e-3, 4), [0.0, 0.9]
    losses = np.array([[50.0, 30.0, 20.0, np.nan], [40.0, 25.0, np.inf, np.nan]])
    ax = plots.plot_trial_grid(lrs, momenta, losses, marks={"valley": [(lrs[1], 0.9)]})
    cells = ax.collections[0].get_array()
    assert cells.shape == (2, 4) and cells.mask.sum() == 3  # the three non-finite trials
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "momentum"
    (mark,) = ax.get_lines()
    assert mark.get_xdata()[0] == lrs[1] and mark.get_ydata()[0] == 1  # the second row
    plt.close(ax.figure)


@pytest.mark.parametrize(
    ("losses", "error", "words"),
    [
        (np.ones((3, 4)), ValueError, ["losses", "(2, 4)", "(3, 4)"]),
        (np.full((2, 4), np.nan), ValueError, ["every trial diverged"]),
    ],
)
def test_plot_trial_grid_rejects_bad_input_naming_it(losses, error, words):
    with pytest.raises(error) as raised:
        plots.plot_trial_grid(np.geomspace(1e-6, 1e-3, 4), [0.0, 0.9], losses)
    for word in words:
        assert word in str(raised.value)


def test_seed_band_of_one_row_per_seed_without_columns_and_of_a_single_number():
    median, low, high = plots.seed_band([3.0, np.inf, 1.0])  # three seeds, one value each
    assert (float(median), float(low)) == (3.0, 1.0) and np.isnan(high)  # the diverged seed tops the band
    with pytest.raises(ValueError, match="one row .* per seed; got the single number 2.0"):
        plots.seed_band(2.0)
