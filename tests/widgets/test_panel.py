"""course_utils.widgets.panel: the figure every explorer redraws in place, its rate slider and its display."""

import base64
import math

import ipywidgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402

from course_utils.widgets.panel import DisplaysWidget, FigurePanel, format_loss, rate_slider  # noqa: E402


def test_show_puts_the_figure_as_a_png_into_the_output_widget():
    figures_before = plt.get_fignums()
    panel = FigurePanel(figsize=(4.0, 2.0), dpi=50)
    panel.axes.plot([1, 2, 3], [3, 1, 2])
    panel.show()
    (output,) = panel.output.outputs
    assert output["output_type"] == "display_data"
    assert base64.b64decode(output["data"]["image/png"]) == panel.png
    assert panel.png.startswith(b"\x89PNG")
    assert output["data"]["text/plain"] == "<Figure size 200x100>"
    assert panel.renders == 1
    assert plt.get_fignums() == figures_before, "the panel's figure is not a pyplot figure"


def test_every_show_replaces_the_png_with_the_figure_as_it_is_now():
    panel = FigurePanel()
    panel.show()
    first = panel.png
    panel.axes.plot([1, 2, 3], [3, 1, 2])
    panel.show()
    assert panel.png != first
    assert len(panel.output.outputs) == 1
    assert panel.renders == 2


def test_show_without_relayout_keeps_the_last_margins_after_the_first_render():
    panel = FigurePanel()
    panel.show(relayout=False)  # the first render lays the figure out all the same
    assert isinstance(panel.figure.get_layout_engine(), ConstrainedLayoutEngine)
    panel.show(relayout=False)
    assert not isinstance(panel.figure.get_layout_engine(), ConstrainedLayoutEngine)
    panel.show()
    assert isinstance(panel.figure.get_layout_engine(), ConstrainedLayoutEngine)


def test_rate_slider_is_logarithmic_between_the_bounds_in_the_given_steps():
    slider = rate_slider(1e-4, 1e-6, 1e-1, steps=50, continuous_update=False)
    assert isinstance(slider, ipywidgets.FloatLogSlider)
    assert (slider.base, slider.min, slider.max) == (10, pytest.approx(-6), pytest.approx(-1))
    assert slider.step == pytest.approx(5 / 50)
    assert slider.value == pytest.approx(1e-4)
    assert slider.continuous_update is False
    assert (slider.description, slider.readout_format) == ("lr", ".2e")


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.23456, "1.235"), (12345.6, "1.235e+04"), (math.nan, "not finite"), (-math.inf, "not finite")],
)
def test_format_loss_gives_four_digits_or_says_not_finite(value, text):
    assert format_loss(value) == text


class _Shown(DisplaysWidget):
    def __init__(self):
        self.panel = FigurePanel()
        self.widget = ipywidgets.VBox([self.panel.output])


def test_an_explorer_shows_its_panel_and_displays_as_its_widget():
    explorer = _Shown()
    assert explorer.figure is explorer.panel.figure
    assert explorer.axes is explorer.panel.axes
    assert explorer._repr_mimebundle_() == explorer.widget._repr_mimebundle_()
