"""What every explorer shares: a figure redrawn in place, a log-scale rate slider, display.

Figures are plain :class:`matplotlib.figure.Figure` objects (not pyplot), drawn again in place on
every update and shown as a PNG in an ``Output`` widget: no figure piles up in pyplot, nothing
depends on the notebook's matplotlib backend, and the same PNG reaches the page and the tests.
"""

from __future__ import annotations

import base64
import io
import math

import ipywidgets as widgets
from matplotlib.figure import Figure


class FigurePanel:
    """A figure redrawn in place and shown as a PNG inside an ``Output`` widget."""

    def __init__(self, figsize=(7.0, 3.8), dpi: int = 90):
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        self.axes = self.figure.add_subplot()
        self.output = widgets.Output()
        self.renders = 0
        self.png = b""

    def show(self, relayout: bool = True) -> None:
        """Render the figure and replace what the Output widget shows.

        ``relayout=False`` keeps the margins of the last render: when only a marker moves, this
        halves the time a slider step takes.
        """
        self.figure.set_layout_engine("constrained" if relayout or not self.renders else "none")
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png")
        self.png = buffer.getvalue()
        self.renders += 1
        width, height = (int(v) for v in self.figure.get_size_inches() * self.figure.dpi)
        self.output.outputs = (
            {
                "output_type": "display_data",
                "data": {
                    "image/png": base64.b64encode(self.png).decode("ascii"),
                    "text/plain": f"<Figure size {width}x{height}>",
                },
                "metadata": {},
            },
        )


class DisplaysWidget:
    """What every explorer shares: its panel's figure and axes, and display as a cell's last expression."""

    @property
    def figure(self):
        """The explorer's matplotlib figure (redrawn in place)."""
        return self.panel.figure

    @property
    def axes(self):
        return self.panel.axes

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def rate_slider(
    value: float,
    low: float,
    high: float,
    *,
    steps: int,
    continuous_update: bool,
    description="lr",
    width="95%",
):
    """A log-scale slider from ``low`` to ``high`` with ``steps`` positions, starting at ``value``."""
    low_exp, high_exp = math.log10(low), math.log10(high)
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=low_exp,
        max=high_exp,
        step=(high_exp - low_exp) / steps,
        description=description,
        readout_format=".2e",
        continuous_update=continuous_update,
        layout=widgets.Layout(width=width),
        style={"description_width": "initial"},
    )


def format_loss(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "not finite"
