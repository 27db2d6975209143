"""course_utils.widgets.sweep_explorer: build the explorer, move its slider, read what the update produced.

No browser: setting ``slider.value`` runs the same callback a student's drag does.
"""

import math

import ipywidgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import plots, widgets  # noqa: E402
from course_utils.suggest import smooth_losses, usable_range  # noqa: E402

from support import sweeps  # noqa: E402
from support.widgets import shown_png, stderr_and_warnings  # noqa: E402


def lesson_like_sweep(num=100, diverge_at=90):
    return sweeps.lesson_like_sweep(num, diverge_at, seed=1)


def the_marker(explorer):
    (marker,) = [line for line in explorer.axes.get_lines() if line.get_label() == "chosen rate"]
    return marker


def test_sweep_explorer_marker_and_text_follow_the_slider():
    lrs, losses = lesson_like_sweep()
    explorer = widgets.sweep_explorer(lrs, losses)
    assert isinstance(explorer.slider, ipywidgets.FloatLogSlider)
    assert explorer.slider in explorer.widget.children
    assert explorer.panel.output in explorer.widget.children
    first_text, first_png = explorer.text.value, shown_png(explorer)

    explorer.slider.value = 2e-6
    marker = the_marker(explorer)
    assert marker.get_xdata()[0] == pytest.approx(explorer.slider.value)
    assert marker.get_ydata()[0] == pytest.approx(plots.loss_at(lrs, losses, explorer.slider.value))
    assert explorer.last_value == pytest.approx(2e-6)
    assert explorer.last_loss == pytest.approx(plots.loss_at(lrs, losses, 2e-6))
    assert "2.00e-06" in explorer.text.value
    assert f"{explorer.last_loss:.4g}" in explorer.text.value
    assert explorer.text.value != first_text
    assert shown_png(explorer) != first_png


def test_sweep_explorer_draws_on_a_log_axis_and_shades_usable_range():
    lrs, losses = lesson_like_sweep()
    explorer = widgets.sweep_explorer(lrs, losses)
    assert explorer.axes.get_xscale() == "log"
    low, high = usable_range(lrs, losses)
    assert explorer.usable == (low, high)
    (span,) = [patch for patch in explorer.axes.patches if patch.get_label() == plots.USABLE_LABEL]
    corners = span.get_path().transformed(span.get_patch_transform()).vertices[:, 0]
    assert corners.min() == pytest.approx(low)
    assert corners.max() == pytest.approx(high)


def test_sweep_explorer_says_where_the_rate_lies():
    lrs, losses = lesson_like_sweep(diverge_at=90)
    explorer = widgets.sweep_explorer(lrs, losses)
    low, high = explorer.usable
    explorer.slider.value = math.sqrt(low * high)
    assert explorer.last_position == "inside"
    assert "inside the usable range" in explorer.text.value
    explorer.slider.value = low / 10
    assert explorer.last_position == "below"
    explorer.slider.value = lrs[95]  # past the last finite loss
    assert explorer.last_position == "diverged"
    assert math.isnan(explorer.last_loss)
    assert "diverged" in explorer.text.value
    # The marker still stands at the chosen rate, without a point to show.
    assert the_marker(explorer).get_xdata()[0] == pytest.approx(lrs[95])


def test_sweep_explorer_pins_a_marker_above_the_frame_to_the_top():
    lrs, losses = lesson_like_sweep()
    losses[:8] = np.geomspace(5000, 100, 8)  # an untrained first few epochs, far above the rest
    explorer = widgets.sweep_explorer(lrs, losses, value=lrs[1])
    top = explorer.axes.get_ylim()[1]
    assert explorer.last_loss > top
    marker = the_marker(explorer)
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (pytest.approx(lrs[1]), top)
    assert marker.get_marker() == "^"
    explorer.slider.value = 1e-6
    assert the_marker(explorer).get_marker() == "o"


def test_sweep_explorer_puts_the_marker_on_the_smoothed_curve():
    lrs, losses = lesson_like_sweep(diverge_at=100)
    smoothed = smooth_losses(losses, beta=0.9)
    explorer = widgets.sweep_explorer(lrs, losses, smoothed=smoothed, value=1e-6)
    assert explorer.slider.value == pytest.approx(1e-6)
    assert the_marker(explorer).get_ydata()[0] == pytest.approx(plots.loss_at(lrs, smoothed, 1e-6))
    assert "smoothed loss" in explorer.text.value


def test_sweep_explorer_is_quiet_and_leaves_no_pyplot_figures():
    lrs, losses = lesson_like_sweep()
    figures_before = plt.get_fignums()
    with stderr_and_warnings() as report:
        explorer = widgets.sweep_explorer(lrs, losses)
        for value in (1e-7, 1e-6, 1e-5, 1e-4, lrs[-1]):
            explorer.slider.value = value
    assert report["stderr"] == ""
    assert report["warnings"] == []
    assert plt.get_fignums() == figures_before
    assert explorer.panel.renders == 6


def test_sweep_explorer_rejects_bad_input_naming_it():
    with pytest.raises(ValueError, match="lrs must increase"):
        widgets.sweep_explorer([1e-3, 1e-4, 1e-5], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="smoothed"):
        widgets.sweep_explorer([1e-5, 1e-4, 1e-3], [1.0, 2.0, 3.0], smoothed=[1.0])
    with pytest.raises(ValueError, match="value"):
        widgets.sweep_explorer([1e-5, 1e-4, 1e-3], [1.0, 2.0, 3.0], value=-1.0)
