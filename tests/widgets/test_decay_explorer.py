"""course_utils.widgets.decay_explorer: build the explorer, move its slider and menu, read the redrawn curves."""

import ipywidgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import widgets  # noqa: E402

from support.widgets import shown_png, stderr_and_warnings  # noqa: E402


def test_decay_explorer_redraws_every_kind_from_the_slider_rate():
    explorer = widgets.decay_explorer(1e-4, 200)
    assert isinstance(explorer.slider, ipywidgets.FloatLogSlider)
    first_text, first_png = explorer.text.value, shown_png(explorer)

    explorer.slider.value = 1e-3
    lines = {line.get_label(): line for line in explorer.axes.get_lines()}
    assert {"exponential", "cosine", "one_cycle"} <= set(lines)
    assert set(explorer.curves) == {"exponential", "cosine", "one_cycle"}
    # Exponential and cosine decay start at the chosen rate; one-cycle peaks at it.
    assert lines["exponential"].get_ydata()[0] == pytest.approx(1e-3, rel=1e-5)
    assert lines["cosine"].get_ydata()[0] == pytest.approx(1e-3, rel=1e-5)
    assert np.nanmax(lines["one_cycle"].get_ydata()) == pytest.approx(1e-3, rel=1e-3)
    assert len(lines["exponential"].get_xdata()) == 200
    assert explorer.axes.get_yscale() == "log"
    assert explorer.last_value == pytest.approx(1e-3)
    assert "1.00e-03" in explorer.text.value and explorer.text.value != first_text
    assert shown_png(explorer) != first_png


def test_decay_explorer_menu_shows_one_kind():
    explorer = widgets.decay_explorer(1e-4, 100)
    explorer.kind.value = "cosine"
    kinds_drawn = [
        line.get_label() for line in explorer.axes.get_lines() if not line.get_label().startswith("chosen")
    ]
    assert kinds_drawn == ["cosine"]
    assert explorer.last_kind == "cosine"
    assert "exponential" not in explorer.text.value


def test_decay_explorer_is_quiet_and_leaves_no_pyplot_figures():
    figures_before = plt.get_fignums()
    with stderr_and_warnings() as report:
        explorer = widgets.decay_explorer(1e-5, 50, kinds=("constant", "cosine"))
        explorer.slider.value = 1e-4
        explorer.kind.value = "constant"
    assert report["stderr"] == ""
    assert report["warnings"] == []
    assert plt.get_fignums() == figures_before


def test_decay_explorer_rejects_bad_input_naming_it():
    with pytest.raises(ValueError, match="kinds.*'linear'"):
        widgets.decay_explorer(1e-4, 100, kinds=("linear",))
    with pytest.raises(ValueError, match="initial_lr"):
        widgets.decay_explorer(0.0, 100)
    with pytest.raises(ValueError, match="total_steps"):
        widgets.decay_explorer(1e-4, 1)
