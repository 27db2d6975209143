"""Shape a decay schedule from a starting rate: a slider for the rate, a menu for the kind."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import ipywidgets as widgets

from course_utils._validate import check_int, check_real
from course_utils.plots import plot_schedules
from course_utils.schedules import DECAY_KINDS, decay_schedule, schedule_values
from course_utils.widgets.panel import DisplaysWidget, FigurePanel, rate_slider

ALL_KINDS = "all"


@dataclass(eq=False)
class DecayExplorer(DisplaysWidget):
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
    slider = rate_slider(
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
