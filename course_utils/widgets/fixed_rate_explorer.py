"""Try a fixed learning rate with a slider: train from the same fresh weights, show the curve."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np

from course_utils._validate import check_rate_range, check_real
from course_utils.fixed_rate import UNTRAINED_LOSS_FACTOR, FixedRateRun, FixedRateTrainer, fixed_rate_trainer
from course_utils.plots import plot_history
from course_utils.widgets.panel import DisplaysWidget, FigurePanel, format_loss, rate_slider


@dataclass(eq=False)
class FixedRateExplorer(DisplaysWidget):
    """A slider that trains the model from the same fresh weights at the chosen rate.

    The training is :class:`course_utils.fixed_rate.FixedRateTrainer`'s; the explorer keeps one
    run per rate (moving back to a rate is instant) and draws the latest run over earlier ones.
    """

    trainer: FixedRateTrainer = field(repr=False)
    panel: FigurePanel = field(repr=False)
    slider: widgets.FloatLogSlider = field(repr=False)
    text: widgets.HTML = field(repr=False)
    widget: widgets.VBox = field(repr=False)
    runs: dict = field(default_factory=dict, repr=False)
    trainings: int = 0
    last_value: float | None = None
    last_run: FixedRateRun | None = None

    @property
    def epochs(self) -> int:
        return self.trainer.epochs

    @staticmethod
    def _key(lr: float) -> float:
        return float(f"{lr:.6g}")

    def run(self, lr: float) -> FixedRateRun:
        """Train at ``lr`` (or return the cached run for it)."""
        lr = check_real("lr", lr, positive=True)
        key = self._key(lr)
        if key not in self.runs:
            self.runs[key] = self.trainer.train(lr)
            self.trainings += 1
        return self.runs[key]

    def _colour(self, lr: float):
        """Colour by rate along the slider (dark = small, yellow = large), the same in every figure."""
        from matplotlib import colormaps

        low, high = self.slider.min, self.slider.max
        return colormaps["viridis"](0.9 * (math.log10(lr) - low) / (high - low))

    def _draw(self, run: FixedRateRun) -> None:
        ax = self.axes
        ax.clear()
        earlier = [other for key, other in self.runs.items() if key != self._key(run.lr)][-4:]
        drawn = [np.asarray(r.history["loss"], dtype=float) for r in [*earlier, run]]
        # A log axis needs at least one positive finite loss; matplotlib warns otherwise.
        log = any(np.any(np.isfinite(v) & (v > 0)) for v in drawn)
        for other, values in zip(earlier, drawn, strict=False):
            values = np.where(np.isfinite(values), values, np.nan)
            ax.plot(
                np.arange(1, len(values) + 1),
                values,
                color=self._colour(other.lr),
                alpha=0.45,
                linewidth=1,
                label=f"earlier: lr {other.lr:.1e}" + (" (diverged)" if other.status == "diverged" else ""),
            )
        plot_history(run.history, keys=("loss",), ax=ax, log=log, label=f"lr {run.lr:.2e}")
        # Markers, so that a run stopped after one epoch still shows its point.
        ax.lines[-1].set(color=self._colour(run.lr), linewidth=2.5, marker="o", markersize=4)
        ax.set_xlim(0.5, self.epochs + 0.5)
        ax.set_ylabel("training loss (log scale)" if log else "training loss")
        if run.status == "diverged":
            ax.set_title(f"lr = {run.lr:.2e}: DIVERGED", color="crimson", fontweight="bold")
            ax.plot(
                [run.epochs_run],
                [0.92],
                "X",
                color="crimson",
                markersize=14,
                transform=ax.get_xaxis_transform(),
                label=f"diverged at epoch {run.epochs_run}",
            )
            ax.text(
                0.5,
                0.5,
                "diverged",
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=28,
                color="crimson",
                alpha=0.35,
            )
        else:
            ax.set_title(f"lr = {run.lr:.2e}: {run.status}")
        ax.legend(fontsize="small")

    def _describe(self, run: FixedRateRun) -> str:
        head = f"<b>lr = {run.lr:.2e}</b>: "
        if run.status == "diverged":
            return (
                head + f"<span style='color:crimson'><b>diverged</b></span> — the loss went from "
                f"{format_loss(run.initial_loss)} to {format_loss(run.final_loss)} and training stopped "
                f"after {run.epochs_run} of {self.epochs} epochs. This rate is too large."
            )
        text = (
            head + f"final loss {format_loss(run.final_loss)} after {run.epochs_run} epochs "
            f"(untrained: {format_loss(run.initial_loss)})"
        )
        if math.isfinite(run.valid_mae):
            text += f", validation MAE {run.valid_mae:.3g}"
        if run.status == "no progress":
            text += " — no progress: the rate is too small, or it broke the model (dead ReLU units)."
        return text + "."

    def update(self, lr: float) -> None:
        """Train at ``lr`` unless already done, then show its curve and numbers."""
        lr = float(lr)
        if self._key(lr) not in self.runs:
            self.text.value = f"Training a fresh model at lr = {lr:.2e} for {self.epochs} epochs …"
        run = self.run(lr)
        self.last_value, self.last_run = lr, run
        self._draw(run)
        self.text.value = self._describe(run)
        self.panel.show()


def fixed_rate_explorer(
    dataset,
    *,
    epochs: int = 20,
    build_model: Callable | None = None,
    seed: int = 0,
    valid_series=None,
    lr_range: tuple[float, float] = (1e-8, 1e-3),
    value: float = 1e-6,
    untrained_loss_factor: float = UNTRAINED_LOSS_FACTOR,
) -> FixedRateExplorer:
    """Try a fixed learning rate: train from the same fresh weights (seeded) and show the curve.

    ``dataset``, ``epochs``, ``build_model``, ``seed``, ``valid_series`` and
    ``untrained_loss_factor`` are those of :func:`course_utils.fixed_rate.fixed_rate_trainer`.
    The slider spans ``lr_range`` on a log scale and starts at ``value``; it only updates on
    release (``continuous_update=False``).
    """
    if not isinstance(lr_range, tuple | list) or len(lr_range) != 2:
        raise TypeError(f"lr_range must be a pair (low_lr, high_lr); got {lr_range!r}.")
    low, high = check_rate_range("lr_range[0]", lr_range[0], "lr_range[1]", lr_range[1])
    value = check_real("value", value, positive=True)
    if not low <= value <= high:
        raise ValueError(f"value must lie in lr_range {lr_range!r}; got {value!r}.")
    trainer = fixed_rate_trainer(
        dataset,
        epochs=epochs,
        build_model=build_model,
        seed=seed,
        valid_series=valid_series,
        lr=value,
        untrained_loss_factor=untrained_loss_factor,
    )
    panel = FigurePanel()
    slider = rate_slider(value, low, high, steps=50, continuous_update=False)
    text = widgets.HTML()
    explorer = FixedRateExplorer(
        trainer=trainer,
        panel=panel,
        slider=slider,
        text=text,
        widget=widgets.VBox([slider, text, panel.output]),
    )
    explorer.update(slider.value)
    slider.observe(lambda change: explorer.update(change["new"]), names="value")
    return explorer
