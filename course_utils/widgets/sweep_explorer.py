"""Pick a rate on a sweep curve: a marker on the curve, the loss there, the usable range shaded."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np

from course_utils._validate import as_1d_float_array, check_real
from course_utils.plots import check_sweep, loss_at, plot_sweep
from course_utils.suggest import usable_range
from course_utils.widgets.panel import DisplaysWidget, FigurePanel, rate_slider


@dataclass(eq=False)
class SweepExplorer(DisplaysWidget):
    """A slider over a sweep: the marker follows the rate, the text reads the loss there."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray | None
    usable: tuple[float, float] | None
    panel: FigurePanel = field(repr=False)
    slider: widgets.FloatLogSlider = field(repr=False)
    text: widgets.HTML = field(repr=False)
    widget: widgets.VBox = field(repr=False)
    marker: object = field(default=None, repr=False)  # the point at the chosen rate (a Line2D)
    cursor: object = field(default=None, repr=False)  # the dashed vertical line there
    last_value: float | None = None
    last_loss: float = math.nan
    last_position: str = ""  # "inside", "below" or "above" the usable range, "diverged", ...

    @property
    def curve(self) -> np.ndarray:
        """The curve the marker sits on: the smoothed losses when given, else the raw ones."""
        if self.smoothed is not None and np.isfinite(self.smoothed).sum() >= 2:
            return self.smoothed
        return self.losses

    def _draw(self) -> None:
        plot_sweep(self.lrs, self.losses, smoothed=self.smoothed, usable=self.usable, ax=self.axes)
        self.cursor = self.axes.axvline(self.lrs[0], color="black", linewidth=1, linestyle="--")
        (self.marker,) = self.axes.plot(
            [], [], "o", color="crimson", markersize=10, label="chosen rate", clip_on=False
        )
        self.axes.legend()

    def _position(self, lr: float, loss: float) -> str:
        if not math.isfinite(loss):
            if lr > self.lrs[np.isfinite(self.losses)][-1]:
                return "diverged"
            return "no data"
        if self.usable is None or self.usable[0] == self.usable[1]:
            return "unknown"
        if lr < self.usable[0]:
            return "below"
        if lr > self.usable[1]:
            return "above"
        return "inside"

    _EXPLANATIONS = {
        "inside": "inside the usable range: the loss still falls steadily here.",
        "below": "below the usable range: the loss hardly moves yet, training would be slow.",
        "above": "past the bottom of the valley: the loss is about to become unstable.",
        "diverged": "the sweep had diverged by this rate (no finite loss): far too large.",
        "no data": "the sweep has no finite loss at this rate.",
        "unknown": "",
    }

    def update(self, lr: float) -> None:
        """Move the marker to ``lr`` and describe the loss there."""
        lr = float(lr)
        loss = loss_at(self.lrs, self.curve, lr)
        self.cursor.set_xdata([lr, lr])
        top = self.axes.get_ylim()[1]
        # Above the frame (the untrained start of an epoch sweep): pinned to the top, pointing up.
        above = math.isfinite(loss) and loss > top
        self.marker.set_data([lr], [top if above else loss])
        self.marker.set_marker("^" if above else "o")
        self.last_value, self.last_loss = lr, loss
        self.last_position = self._position(lr, loss)
        kind = "smoothed loss" if self.curve is self.smoothed else "loss"
        reading = f"{kind} ≈ {loss:.4g}" if math.isfinite(loss) else f"no finite {kind}"
        parts = [f"<b>lr = {lr:.2e}</b>: {reading}"]
        if self.usable is not None and self.usable[0] < self.usable[1]:
            parts.append(f"(usable range {self.usable[0]:.1e} … {self.usable[1]:.1e})")
        explanation = self._EXPLANATIONS[self.last_position]
        if explanation:
            parts.append("— " + explanation)
        self.text.value = " ".join(parts)
        self.panel.show(relayout=False)


def sweep_explorer(lrs, losses, *, smoothed=None, value: float | None = None) -> SweepExplorer:
    """Pick a rate on a sweep curve: a marker on the curve, the loss there, the usable range shaded.

    ``lrs``/``losses`` are the sweep (e.g. ``result.lrs, result.losses``); ``smoothed`` adds the
    smoothed curve and puts the marker on it. The shaded band is
    :func:`course_utils.suggest.usable_range` of the sweep. ``value`` is the starting rate (by
    default the middle of the range on the log axis).
    """
    lrs, losses = check_sweep(lrs, losses)
    if smoothed is not None:
        smoothed = as_1d_float_array("smoothed", smoothed)
        if len(smoothed) != len(lrs):
            raise ValueError(f"smoothed must have one value per rate ({len(lrs)}); got {len(smoothed)}.")
    if value is None:
        value = math.sqrt(lrs[0] * lrs[-1])
    value = check_real("value", value, positive=True)
    try:
        usable = usable_range(lrs, losses)
    except ValueError:  # too few finite points to judge: show the curve without a band
        usable = None
    panel = FigurePanel()
    slider = rate_slider(value, lrs[0], lrs[-1], steps=400, continuous_update=True)
    text = widgets.HTML()
    explorer = SweepExplorer(
        lrs=lrs,
        losses=losses,
        smoothed=smoothed,
        usable=usable,
        panel=panel,
        slider=slider,
        text=text,
        widget=widgets.VBox([slider, text, panel.output]),
    )
    explorer._draw()
    explorer.update(slider.value)
    slider.observe(lambda change: explorer.update(change["new"]), names="value")
    return explorer
