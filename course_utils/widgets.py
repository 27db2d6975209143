"""Sliders the notebooks use to explore learning rates: on a sweep, in training, and in decay.

Each builder returns a small object: ``.widget`` is what the notebook displays, ``.slider`` is
the rate slider (log scale), and the rest is the state the last update produced, so a test can
set ``slider.value`` and read the result without a browser.

Figures are plain :class:`matplotlib.figure.Figure` objects (not pyplot), drawn again in place on
every update and shown as a PNG in an ``Output`` widget: no figure piles up in pyplot, nothing
depends on the notebook's matplotlib backend, and the same PNG reaches the page and the tests.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from course_utils._validate import as_1d_float_array, check_int, check_rate_range, check_real
from course_utils.plots import check_sweep, loss_at, plot_history, plot_schedules, plot_sweep


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


class _DisplaysWidget:
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


def _rate_slider(
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


def _format_loss(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "not finite"


# --------------------------------------------------------------------------------------------
# Pick a rate on a sweep curve
# --------------------------------------------------------------------------------------------


@dataclass(eq=False)
class SweepExplorer(_DisplaysWidget):
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
    from course_utils.suggest import usable_range

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
    slider = _rate_slider(value, lrs[0], lrs[-1], steps=400, continuous_update=True)
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


# --------------------------------------------------------------------------------------------
# Train at a fixed rate
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FixedRateRun:
    """What one training at a fixed rate gave."""

    lr: float
    history: dict
    initial_loss: float
    final_loss: float
    status: str  # "trained", "no progress" or "diverged"
    epochs_run: int
    valid_mae: float = math.nan


@dataclass(eq=False)
class FixedRateExplorer(_DisplaysWidget):
    """A slider that trains the model from the same fresh weights at the chosen rate.

    The model is built and compiled once; every run starts by restoring its seeded initial
    weights, zeroing the optimizer's state (momentum, step count) and setting the rate. That is
    the same as building a fresh model, without recompiling and retracing for every rate.
    """

    make_dataset: Callable = field(repr=False)
    epochs: int
    seed: int
    model: object = field(repr=False)
    initial_weights: list = field(repr=False)
    initial_loss: float
    valid_series: np.ndarray | None = field(repr=False)
    diverge_factor: float
    panel: FigurePanel = field(repr=False)
    slider: widgets.FloatLogSlider = field(repr=False)
    text: widgets.HTML = field(repr=False)
    widget: widgets.VBox = field(repr=False)
    runs: dict = field(default_factory=dict, repr=False)
    trainings: int = 0
    last_value: float | None = None
    last_run: FixedRateRun | None = None

    @staticmethod
    def _key(lr: float) -> float:
        return float(f"{lr:.6g}")

    def run(self, lr: float) -> FixedRateRun:
        """Train at ``lr`` (or return the cached run for it)."""
        lr = check_real("lr", lr, positive=True)
        key = self._key(lr)
        if key not in self.runs:
            self.runs[key] = self._train(lr)
            self.trainings += 1
        return self.runs[key]

    def _reset(self, lr: float) -> None:
        """Put the model back to its untrained state, with a fresh optimizer state at ``lr``."""
        import keras

        self.model.set_weights(self.initial_weights)
        optimizer = self.model.optimizer
        for variable in optimizer.variables:
            variable.assign(keras.ops.zeros(variable.shape, dtype=variable.dtype))
        optimizer.learning_rate = lr
        keras.utils.set_random_seed(self.seed)

    def _train(self, lr: float) -> FixedRateRun:
        import keras

        self._reset(lr)
        limit = self.diverge_factor * self.initial_loss if math.isfinite(self.initial_loss) else math.inf
        model = self.model

        def stop_if_diverged(epoch, logs):
            loss = float((logs or {}).get("loss", math.nan))
            if not math.isfinite(loss) or loss > limit:
                model.stop_training = True

        history = model.fit(
            self.make_dataset(),
            epochs=self.epochs,
            shuffle=False,  # the dataset shuffles itself; Keras would ignore (and warn about) True
            verbose=0,
            callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=stop_if_diverged)],
        ).history
        history = {name: [float(v) for v in values] for name, values in history.items()}
        losses = np.asarray(history["loss"], dtype=float)
        final_loss = float(losses[-1])
        if not np.all(np.isfinite(losses)) or np.any(losses > limit):
            status = "diverged"
        elif final_loss >= self.initial_loss:
            status = "no progress"
        else:
            status = "trained"
        valid_mae = math.nan
        if self.valid_series is not None and status != "diverged":
            valid_mae = _forecast_mae_within(model, self.valid_series)
        return FixedRateRun(
            lr=lr,
            history=history,
            initial_loss=self.initial_loss,
            final_loss=final_loss,
            status=status,
            epochs_run=len(losses),
            valid_mae=valid_mae,
        )

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
                f"{_format_loss(run.initial_loss)} to {_format_loss(run.final_loss)} and training stopped "
                f"after {run.epochs_run} of {self.epochs} epochs. This rate is too large."
            )
        text = (
            head + f"final loss {_format_loss(run.final_loss)} after {run.epochs_run} epochs "
            f"(untrained: {_format_loss(run.initial_loss)})"
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


def _forecast_mae_within(model, series: np.ndarray) -> float:
    """MAE of one-step forecasts for every point of ``series`` that has a full window before it."""
    from course_utils.data import make_windows

    window_size = int(model.input_shape[-1])
    features, labels = make_windows(series, window_size)
    predictions = model.predict(features, batch_size=1024, verbose=0).reshape(-1)
    return float(np.mean(np.abs(predictions - labels)))


def fixed_rate_explorer(
    dataset,
    *,
    epochs: int = 20,
    build_model: Callable | None = None,
    seed: int = 0,
    valid_series=None,
    lr_range: tuple[float, float] = (1e-8, 1e-3),
    value: float = 1e-6,
    diverge_factor: float = 10.0,
) -> FixedRateExplorer:
    """Try a fixed learning rate: train from the same fresh weights (seeded) and show the curve.

    ``dataset`` is a windowed ``tf.data.Dataset`` or a :class:`course_utils.data.Split` (then the
    training part is windowed here and the validation MAE is reported). ``build_model(seed=...)``
    builds the model (default: the course's Dense model); it is compiled with the course's SGD
    with momentum. ``valid_series``, when given, is a series whose one-step forecast MAE is shown.
    A run whose loss turns NaN/inf or exceeds ``diverge_factor`` times the untrained loss stops and
    is shown as diverged. Each rate is trained once: moving back to it is instant. The slider only
    updates on release (``continuous_update=False``).
    """
    import keras
    import tensorflow as tf

    from course_utils.data import Split, windowed_dataset
    from course_utils.models import build_dense_model, compile_model

    epochs = check_int("epochs", epochs, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    diverge_factor = check_real("diverge_factor", diverge_factor, positive=True)
    if build_model is None:
        build_model = build_dense_model
    if not callable(build_model):
        raise TypeError(f"build_model must be a function taking seed=...; got {build_model!r}.")
    if not isinstance(lr_range, tuple | list) or len(lr_range) != 2:
        raise TypeError(f"lr_range must be a pair (low_lr, high_lr); got {lr_range!r}.")
    low, high = check_rate_range("lr_range[0]", lr_range[0], "lr_range[1]", lr_range[1])
    value = check_real("value", value, positive=True)
    if not low <= value <= high:
        raise ValueError(f"value must lie in lr_range {lr_range!r}; got {value!r}.")
    model = build_model(seed=seed)
    if not isinstance(model, keras.Model):
        raise TypeError(f"build_model(seed=...) must return a keras.Model; got {type(model).__name__}.")
    if isinstance(dataset, Split):
        window_size = int(model.input_shape[-1])
        if valid_series is None:
            # The last window of the training part lets the first validation point be forecast.
            valid_series = np.concatenate([dataset.train[-window_size:], dataset.valid])
        train = dataset.train

        def make_dataset():
            # Rebuilt for every run so that every rate sees the same shuffle order.
            return windowed_dataset(train, window_size=window_size, seed=seed)

    elif isinstance(dataset, tf.data.Dataset):
        given = dataset

        def make_dataset():
            return given

    else:
        raise TypeError(
            "dataset must be a tf.data.Dataset of (window, target) batches or a data.Split; "
            f"got {type(dataset).__name__}."
        )
    if valid_series is not None:
        valid_series = as_1d_float_array("valid_series", valid_series, min_length=2)
    compile_model(model, value)
    initial_weights = model.get_weights()
    initial_loss = float(model.evaluate(make_dataset(), verbose=0, return_dict=True)["loss"])
    panel = FigurePanel()
    slider = _rate_slider(value, low, high, steps=50, continuous_update=False)
    text = widgets.HTML()
    explorer = FixedRateExplorer(
        make_dataset=make_dataset,
        epochs=epochs,
        seed=seed,
        model=model,
        initial_weights=initial_weights,
        initial_loss=initial_loss,
        valid_series=valid_series,
        diverge_factor=diverge_factor,
        panel=panel,
        slider=slider,
        text=text,
        widget=widgets.VBox([slider, text, panel.output]),
    )
    explorer.update(slider.value)
    slider.observe(lambda change: explorer.update(change["new"]), names="value")
    return explorer


# --------------------------------------------------------------------------------------------
# Shape a decay schedule from a rate
# --------------------------------------------------------------------------------------------

ALL_KINDS = "all"


@dataclass(eq=False)
class DecayExplorer(_DisplaysWidget):
    """A slider for the starting rate (and a menu for the kind) that redraws decay schedules."""

    total_steps: int
    kinds: tuple[str, ...]
    log: bool
    panel: FigurePanel = field(repr=False)
    slider: widgets.FloatLogSlider = field(repr=False)
    kind: widgets.Dropdown = field(repr=False)
    text: widgets.HTML = field(repr=False)
    widget: widgets.VBox = field(repr=False)
    curves: dict = field(default_factory=dict, repr=False)
    last_value: float | None = None
    last_kind: str | None = None

    def update(self, *_change) -> None:
        """Recompute the schedules from the slider and the menu, and redraw them."""
        from course_utils.schedules import decay_schedule, schedule_values

        lr, chosen = float(self.slider.value), self.kind.value
        kinds = self.kinds if chosen == ALL_KINDS else (chosen,)
        self.curves = {
            kind: schedule_values(decay_schedule(kind, lr, self.total_steps), self.total_steps)
            for kind in kinds
        }
        self.last_value, self.last_kind = lr, chosen
        ax = self.axes
        ax.clear()
        plot_schedules(self.curves, ax=ax, log=self.log)
        ax.axhline(lr, color="black", linestyle=":", linewidth=1, label=f"chosen rate {lr:.1e}")
        ax.legend()
        ax.set_title(f"Decay from lr = {lr:.2e} over {self.total_steps} steps")
        ends = ", ".join(f"{kind} ends at {values[-1]:.1e}" for kind, values in self.curves.items())
        note = " (one-cycle peaks at the chosen rate)" if "one_cycle" in self.curves else ""
        self.text.value = html.escape(f"Start {lr:.2e}{note}; after {self.total_steps} steps: {ends}.")
        self.panel.show()


def decay_explorer(
    initial_lr: float,
    total_steps: int,
    kinds=("exponential", "cosine", "one_cycle"),
    *,
    log: bool = True,
    decades: float = 2.0,
) -> DecayExplorer:
    """Shape a decay schedule: the slider sets the starting rate, the menu shows one kind or all.

    The slider spans ``decades`` on each side of ``initial_lr`` (e.g. the valley rate of a sweep);
    the curves come from :func:`course_utils.schedules.decay_schedule` with its default options.
    """
    from course_utils.schedules import DECAY_KINDS

    initial_lr = check_real("initial_lr", initial_lr, positive=True)
    total_steps = check_int("total_steps", total_steps, minimum=2)
    decades = check_real("decades", decades, positive=True)
    if isinstance(kinds, str):
        kinds = (kinds,)
    kinds = tuple(kinds)
    if not kinds:
        raise ValueError(f"kinds must name at least one of {DECAY_KINDS}; got an empty sequence.")
    for kind in kinds:
        if kind not in DECAY_KINDS:
            raise ValueError(f"kinds must be taken from {DECAY_KINDS}; got {kind!r}.")
    panel = FigurePanel()
    scale = 10**decades
    slider = _rate_slider(
        initial_lr,
        initial_lr / scale,
        initial_lr * scale,
        steps=80,
        continuous_update=False,  # a full redraw per step would lag behind a drag
        description="initial lr",
        width="65%",
    )
    options = ((ALL_KINDS,) if len(kinds) > 1 else ()) + kinds
    menu = widgets.Dropdown(options=options, value=options[0], description="schedule")
    text = widgets.HTML()
    explorer = DecayExplorer(
        total_steps=total_steps,
        kinds=kinds,
        log=bool(log),
        panel=panel,
        slider=slider,
        kind=menu,
        text=text,
        widget=widgets.VBox([widgets.HBox([slider, menu]), text, panel.output]),
    )
    explorer.update()
    slider.observe(explorer.update, names="value")
    menu.observe(explorer.update, names="value")
    return explorer
