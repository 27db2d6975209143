"""Text alternatives for the course's figures: what a plot shows, in words.

The static course site (:mod:`course_tools.site`) runs every notebook in a kernel of its own and
gives each figure an ``alt`` text. The words come from the figure itself, read at the moment it is
shown: its titles, the label, scale and range of each axis, and the names in its legend. To see
figures as they are shown, :func:`install` (run once in the kernel, before the notebook's cells)
wraps the two places figures reach the page:

* ``matplotlib_inline``'s figure metadata, which the inline backend attaches to every PNG it
  displays (``plt.show()`` and the figures flushed at the end of a cell);
* the explorers' :class:`course_utils.widgets.panel.FigurePanel`, which shows its own PNG in an
  ``Output`` widget.

Both put the description in the output's metadata under ``"alt"``; the site's template writes it
into the image's ``alt`` attribute. This module imports matplotlib only inside the functions, so
the site builder can import it without starting a plotting stack.
"""

from __future__ import annotations

import math
import sys

#: Metadata key for the description, on the output (``output.metadata["alt"]``).
ALT_KEY = "alt"
_MAX_LEGEND_ENTRIES = 6


def _number(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.3g}"


def _axis(axes, which: str) -> str:
    """``x axis "learning rate", log scale, from 1e-08 to 0.001``; empty for a hidden axis."""
    axis = axes.xaxis if which == "x" else axes.yaxis
    if not axis.get_visible():
        return ""
    label = axis.get_label_text().strip()
    scale = axes.get_xscale() if which == "x" else axes.get_yscale()
    low, high = axes.get_xlim() if which == "x" else axes.get_ylim()
    words = f"{which} axis"
    if label:
        words += f" {label!r}"
    if scale != "linear":
        words += f", {scale} scale"
    return words + f", from {_number(min(low, high))} to {_number(max(low, high))}"


def _legend_entries(axes) -> list[str]:
    legend = axes.get_legend()
    if legend is not None:
        names = [text.get_text().strip() for text in legend.get_texts()]
    else:
        names = [
            line.get_label()
            for line in axes.get_lines()
            if line.get_label() and not line.get_label().startswith("_")
        ]
    return [name for name in names if name]


def describe_axes(axes) -> str:
    """One panel in words: its title, both axes, and what its legend names."""
    parts = []
    title = " ".join(t for t in (axes.get_title("left"), axes.get_title(), axes.get_title("right")) if t)
    if title.strip():
        parts.append(f"{title.strip()!r}")
    for which in ("x", "y"):
        words = _axis(axes, which)
        if words:
            parts.append(words)
    names = _legend_entries(axes)
    if names:
        shown = ", ".join(names[:_MAX_LEGEND_ENTRIES])
        if len(names) > _MAX_LEGEND_ENTRIES:
            shown += f" and {len(names) - _MAX_LEGEND_ENTRIES} more"
        parts.append(f"legend: {shown}")
    return "; ".join(parts)


def describe_figure(figure) -> str:
    """A figure in words, e.g. ``Plot 'Tune the Learning Rate': x axis 'learning rate', log scale, ...``.

    Colour bars and axes that show nothing (no title, no visible axis) are left out. Never empty:
    a figure with nothing to read from it is described as such.
    """
    suptitle = figure._suptitle.get_text().strip() if getattr(figure, "_suptitle", None) else ""
    panels = [
        axes
        for axes in figure.get_axes()
        if axes.get_visible()
        and getattr(axes, "_colorbar", None) is None
        and axes.get_label() != "<colorbar>"
    ]
    described = [text for text in (describe_axes(axes) for axes in panels) if text]
    if len(described) == 1:
        body = f"Plot: {described[0]}."
    elif described:
        body = f"{len(described)} plots. " + " ".join(
            f"Plot {number}: {text}." for number, text in enumerate(described, 1)
        )
    else:
        body = "A figure without titles or labelled axes."
    return f"{suptitle}. {body}" if suptitle else body


def _with_alt(metadata, figure) -> dict:
    merged = dict(metadata or {})
    try:
        merged[ALT_KEY] = describe_figure(figure)
    except Exception as error:  # a description must never break showing the figure
        merged[ALT_KEY] = f"A figure (no description: {type(error).__name__})."
    return merged


def _wrap_figure_panel() -> bool:
    """Describe the explorers' figures (``FigurePanel.show``), if course_utils' widgets are imported."""
    panel = sys.modules.get("course_utils.widgets.panel")
    if panel is None:
        return False
    if getattr(panel.FigurePanel, "_course_alt", False):
        return True
    original_show = panel.FigurePanel.show

    def show(self, *args, **kwargs):
        original_show(self, *args, **kwargs)
        self.output.outputs = tuple(
            {**output, "metadata": _with_alt(output.get("metadata"), self.figure)}
            if "image/png" in output.get("data", {})
            else output
            for output in self.output.outputs
        )

    panel.FigurePanel.show = show
    panel.FigurePanel._course_alt = True
    return True


def install() -> list[str]:
    """Describe every figure the notebook shows from now on; returns what was wrapped.

    Meant to run in a notebook's kernel before its cells (the site builder does that).
    """
    wrapped = []
    try:
        from matplotlib_inline import backend_inline
    except ImportError:
        backend_inline = None
    if backend_inline is not None and not getattr(backend_inline, "_course_alt", False):
        original_metadata = backend_inline._fetch_figure_metadata

        def fetch_figure_metadata(figure):
            return _with_alt(original_metadata(figure), figure)

        backend_inline._fetch_figure_metadata = fetch_figure_metadata
        backend_inline._course_alt = True
        wrapped.append("matplotlib_inline")
    if _wrap_figure_panel():
        wrapped.append("FigurePanel")
    else:
        # Not imported yet (importing it here would load TensorFlow for nothing): wrap it before the
        # first cell that runs after a cell imported it. The course's notebooks import everything
        # in their set-up cell, before any explorer is made.
        try:
            from IPython import get_ipython
        except ImportError:
            get_ipython = None
        shell = get_ipython() if get_ipython else None
        if shell is not None:

            def wrap_when_imported(*_):
                if _wrap_figure_panel():
                    shell.events.unregister("pre_run_cell", wrap_when_imported)

            shell.events.register("pre_run_cell", wrap_when_imported)
            wrapped.append("FigurePanel (once imported)")
    return wrapped
