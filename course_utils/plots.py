"""The course's figures: series, training curves, the learning-rate sweep and schedules.

Every function draws on the ``ax`` it is given (or on a new figure) and returns that Axes, so a
notebook can put several views side by side and a test can read back what was drawn.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from course_utils._validate import (
    as_1d_float_array,
    check_int,
    check_rate_range,
    check_real,
    check_same_length,
    check_sweep_rates,
)

#: Label of the shaded usable band in :func:`plot_sweep` (widgets and tests look it up by name).
USABLE_LABEL = "usable range"


def _axes(ax):
    """Return ``ax``, or the Axes of a new figure when ``ax`` is None."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4.5))
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None; got {ax!r} ({type(ax).__name__}).")
    return ax


def _check_label(name: str, value):
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a string or None; got {value!r} ({type(value).__name__}).")
    return value


def _finite_or_nan(values: np.ndarray) -> np.ndarray:
    """Replace inf by NaN, which matplotlib draws as a gap."""
    values = np.array(values, dtype=float)
    values[~np.isfinite(values)] = np.nan
    return values


def plot_series(time, series, ax=None, start: int = 0, end: int | None = None, label=None, fmt: str = "-"):
    """Plot ``series`` against ``time`` from index ``start`` to ``end`` (the course's series plot)."""
    time = as_1d_float_array("time", time)
    series = as_1d_float_array("series", series)
    if len(time) != len(series):
        raise ValueError(f"time and series must have the same length; got {len(time)} and {len(series)}.")
    start = check_int("start", start, minimum=0, maximum=len(series) - 1)
    if end is not None:
        end = check_int("end", end, minimum=start + 1)
    if not isinstance(fmt, str):
        raise TypeError(f"fmt must be a matplotlib format string such as '-' or '.'; got {fmt!r}.")
    label = _check_label("label", label)
    ax = _axes(ax)
    ax.plot(time[start:end], series[start:end], fmt, label=label)
    ax.set_xlabel("Time")
    ax.set_ylabel("Value")
    ax.grid(True, alpha=0.3)
    if label is not None:
        ax.legend()
    return ax


def _history_dict(history_or_dict) -> Mapping:
    history = getattr(history_or_dict, "history", history_or_dict)
    if not isinstance(history, Mapping):
        raise TypeError(
            "history_or_dict must be a keras History (what model.fit returns) or a dict of metric lists; "
            f"got {type(history_or_dict).__name__}."
        )
    return history


def plot_history(history_or_dict, keys=("loss",), ax=None, log: bool = False, label=None, skip: int = 0):
    """Plot training curves (one line per key in ``keys``) against the epoch number, from 1.

    ``skip`` leaves out the first epochs, whose large losses would squash the rest; ``log`` uses a
    log loss axis. Epochs whose loss is NaN/inf (a diverged run) show as a gap.
    """
    history = _history_dict(history_or_dict)
    if isinstance(keys, str):
        keys = (keys,)
    keys = tuple(keys)
    if not keys:
        raise ValueError("keys must name at least one metric, such as ('loss',); got an empty sequence.")
    for key in keys:
        if key not in history:
            raise ValueError(f"keys: {key!r} is not in the history; it holds {sorted(history)}.")
    skip = check_int("skip", skip, minimum=0)
    label = _check_label("label", label)
    ax = _axes(ax)
    for key in keys:
        values = as_1d_float_array(f"history[{key!r}]", history[key])
        if skip >= len(values):
            raise ValueError(f"skip must be smaller than the number of epochs ({len(values)}); got {skip}.")
        epochs = np.arange(skip + 1, len(values) + 1)
        line_label = key if label is None else (label if len(keys) == 1 else f"{label} {key}")
        ax.plot(epochs, _finite_or_nan(values[skip:]), label=line_label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(keys[0] if len(keys) == 1 else "value")
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def check_sweep(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    """Validate a sweep for plotting: positive, strictly increasing rates; losses may hold NaN/inf."""
    lrs = as_1d_float_array("lrs", lrs, min_length=2)
    losses = as_1d_float_array("losses", losses, min_length=2)
    check_same_length("lrs", lrs, "losses", losses)
    check_sweep_rates(lrs)
    if np.isfinite(losses).sum() < 2:
        raise ValueError(
            f"losses must hold at least 2 finite values to draw a curve; got {int(np.isfinite(losses).sum())}."
        )
    return lrs, losses


def loss_at(lrs, losses, lr: float) -> float:
    """The loss of a sweep at rate ``lr``, interpolated linearly on the log-rate axis.

    Only finite points are used. Outside the rates that have a finite loss (before the first one,
    or after the run diverged) the answer is NaN: the sweep says nothing there.
    """
    lrs, losses = check_sweep(lrs, losses)
    lr = check_real("lr", lr, positive=True)
    finite = np.isfinite(losses)
    log_lrs = np.log10(lrs[finite])
    log_lr = math.log10(lr)
    tolerance = 1e-12
    if log_lr < log_lrs[0] - tolerance or log_lr > log_lrs[-1] + tolerance:
        return float("nan")
    return float(np.interp(log_lr, log_lrs, losses[finite]))


def sweep_ylim(losses, smoothed=None) -> tuple[float, float]:
    """A y-range that shows the useful part of a sweep and lets a diverged tail leave the frame.

    Read on the reference curve (the smoothed one if given). The top is the lowest of three
    levels, each guarding against one way a sweep squashes its own plot: the level the sweep
    started from (the median of its first tenth: a long tail that explodes goes above it), the
    90th percentile (a short spike goes above it), and the lowest loss plus four times the
    distance from it to the median (the untrained first epochs of the lesson's sweep go above it,
    as in the lesson's own plot). The top never falls below the median, so a curve that only rises
    still shows half of itself. The bottom is the lowest finite loss. Both get a small margin.
    """
    losses = np.asarray(losses, dtype=float)
    reference = losses if smoothed is None else np.asarray(smoothed, dtype=float)
    reference = reference[np.isfinite(reference)]
    if reference.size == 0:
        reference = losses[np.isfinite(losses)]
    lowest = float(min(losses[np.isfinite(losses)].min(), reference.min()))
    median = float(np.median(reference))
    start_level = float(np.median(reference[: max(1, math.ceil(reference.size / 10))]))
    spread = float(reference.min()) + 4 * (median - float(reference.min()))
    top = max(median, min(start_level, float(np.quantile(reference, 0.9)), spread))
    span = top - lowest
    if span <= 0:
        span = max(abs(lowest) * 0.1, 1e-12)
    return lowest - 0.05 * span, top + 0.05 * span


def _check_usable(usable) -> tuple[float, float]:
    if not isinstance(usable, tuple | list) or len(usable) != 2:
        raise TypeError(f"usable must be a pair (low_lr, high_lr) or None; got {usable!r}.")
    low = check_real("usable[0]", usable[0], positive=True)
    high = check_real("usable[1]", usable[1], positive=True)
    if low > high:
        check_rate_range("usable[0]", low, "usable[1]", high)
    return low, high


def _check_ylim(ylim) -> tuple[float, float]:
    if not isinstance(ylim, tuple | list) or len(ylim) != 2:
        raise TypeError(f"ylim must be a pair (bottom, top) or None; got {ylim!r}.")
    bottom, top = check_real("ylim[0]", ylim[0]), check_real("ylim[1]", ylim[1])
    if bottom >= top:
        raise ValueError(f"ylim must go up: ylim[0] < ylim[1]; got {ylim!r}.")
    return bottom, top


_SUGGESTION_MARKERS = ("o", "s", "D", "^", "v", "P", "X")


def plot_sweep(lrs, losses, *, smoothed=None, suggestions=None, usable=None, ax=None, ylim=None):
    """Plot a learning-rate sweep: loss against rate on a log axis (the lesson's "Tune the Learning Rate").

    ``smoothed`` adds the smoothed curve; ``suggestions`` (``{name: lr}``) puts a marker on the
    curve at each suggested rate; ``usable`` (``(low_lr, high_lr)``) shades the part of the curve
    judged usable. NaN/inf losses are left out. Without ``ylim`` the y-range comes from
    :func:`sweep_ylim`, so a diverged tail does not flatten the part worth reading.
    """
    lrs, losses = check_sweep(lrs, losses)
    if smoothed is not None:
        smoothed = as_1d_float_array("smoothed", smoothed)
        check_same_length("lrs", lrs, "smoothed", smoothed)
    if suggestions is not None and not isinstance(suggestions, Mapping):
        raise TypeError(f"suggestions must be a dict {{name: lr}} or None; got {type(suggestions).__name__}.")
    suggestions = {
        str(name): check_real(f"suggestions[{name!r}]", lr, positive=True)
        for name, lr in (suggestions or {}).items()
    }
    usable = None if usable is None else _check_usable(usable)
    ylim = sweep_ylim(losses, smoothed) if ylim is None else _check_ylim(ylim)
    ax = _axes(ax)

    finite = np.isfinite(losses)
    curve_alpha = 0.45 if smoothed is not None else 1.0
    ax.plot(lrs[finite], losses[finite], color="C0", alpha=curve_alpha, label="loss")
    curve = losses
    if smoothed is not None:
        ax.plot(lrs, _finite_or_nan(smoothed), color="C0", linewidth=2, label="smoothed loss")
        if np.isfinite(smoothed).sum() >= 2:
            curve = smoothed
    if usable is not None:
        ax.axvspan(usable[0], usable[1], color="tab:green", alpha=0.15, label=USABLE_LABEL)
    for index, (name, lr) in enumerate(suggestions.items()):
        color = f"C{index + 1}"
        label = f"{name}: {lr:.2e}"
        y = loss_at(lrs, curve, lr)
        if math.isfinite(y):
            marker = _SUGGESTION_MARKERS[index % len(_SUGGESTION_MARKERS)]
            # A point outside the y-range is pinned to the edge, pointing to where it lies.
            if y > ylim[1]:
                y, marker = ylim[1], "^"
            elif y < ylim[0]:
                y, marker = ylim[0], "v"
            ax.plot(
                [lr],
                [y],
                marker=marker,
                linestyle="none",
                markersize=9,
                color=color,
                label=label,
                clip_on=False,
            )
        else:  # the rate lies where the sweep has no finite loss: mark it with a line instead
            ax.axvline(lr, color=color, linestyle=":", label=label)

    ax.set_xscale("log")
    ax.set_xlim(lrs[0], lrs[-1])
    ax.set_ylim(*ylim)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("loss")
    ax.grid(True, which="both", alpha=0.3)
    if smoothed is not None or suggestions or usable is not None:
        ax.legend()
    return ax


def plot_schedules(schedules, ax=None, log: bool = True):
    """Plot learning rate against optimizer step, one line per ``{name: rates}`` entry.

    ``log`` uses a log rate axis, on which exponential decay is a straight line; rates of exactly
    zero (the end of a cosine) are then left out.
    """
    if not isinstance(schedules, Mapping):
        raise TypeError(f"schedules must be a dict {{name: rates}}; got {type(schedules).__name__}.")
    if not schedules:
        raise ValueError("schedules must hold at least one {name: rates} entry; got an empty dict.")
    curves = {}
    for name, values in schedules.items():
        values = as_1d_float_array(f"schedules[{name!r}]", values)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise ValueError(
                f"schedules[{name!r}] must hold finite, non-negative rates; got {values[bad][0]!r} among them."
            )
        curves[str(name)] = values
    ax = _axes(ax)
    for name, values in curves.items():
        shown = np.where(values > 0, values, np.nan) if log else values
        ax.plot(np.arange(len(values)), shown, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return ax


def _seed_rows(name: str, values, length: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape[1] != length or values.shape[0] < 1:
        raise ValueError(
            f"{name} must have shape (seeds, {length}): one row per seed, one column per x value; "
            f"got shape {values.shape}."
        )
    return values


def seed_band(values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(median, low, high)`` over the seeds (axis 0) of ``values``; a non-finite entry counts as +inf.

    A seed that diverged is worse than any finite one, so it pulls the median and the top of the band up
    instead of vanishing; where the median itself is not finite the result is NaN (a gap in a plot).
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        raise ValueError(
            f"values must hold one row (or value) per seed; got the single number {float(values)!r}."
        )
    values = np.where(np.isfinite(values), values, np.inf)
    median, low, high = (np.median(values, axis=0), values.min(axis=0), values.max(axis=0))
    return tuple(_finite_or_nan(part) for part in (median, low, high))


def plot_seed_band(x, values, *, ax=None, label=None, color=None, logx: bool = False, logy: bool = True):
    """The median over seeds as a line, and the band from the lowest to the highest seed.

    ``values`` has one row per seed (initial weights) and one column per ``x`` (epochs, or rates with
    ``logx=True``). The band shows what another initialisation changes: a gap between two bands
    that do not overlap is not luck of the seed.
    """
    ax = _axes(ax)
    x = as_1d_float_array("x", x)
    values = _seed_rows("values", values, len(x))
    label = _check_label("label", label)
    median, low, high = seed_band(values)
    seeds = values.shape[0]
    (line,) = ax.plot(
        x, median, color=color, label=None if label is None else f"{label} (median of {seeds} seeds)"
    )
    ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    return ax


def plot_trial_grid(lrs, momenta, losses, *, ax=None, momentum_name: str = "momentum", marks=None):
    """A heat map of loss over rate (x, log axis) × momentum (y): one cell per trial, colour on a log scale.

    ``losses`` has shape ``(len(momenta), len(lrs))`` (e.g. the median over seeds of
    ``TrialsOutcome.losses``); diverged trials (non-finite) are left blank. ``marks`` maps a label to
    ``(lr, momentum)`` points drawn on top (e.g. each row's valley).
    """
    from matplotlib.colors import LogNorm

    ax = _axes(ax)
    lrs = as_1d_float_array("lrs", lrs, min_length=2)
    check_sweep_rates(lrs)
    momenta = as_1d_float_array("momenta", momenta)
    losses = np.asarray(losses, dtype=float)
    if losses.shape != (len(momenta), len(lrs)):
        raise ValueError(
            f"losses must have shape (len(momenta), len(lrs)) = {(len(momenta), len(lrs))}; got {losses.shape}."
        )
    finite = losses[np.isfinite(losses) & (losses > 0)]
    if finite.size == 0:
        raise ValueError("losses has no finite positive value to colour; every trial diverged.")
    # Cell edges halfway between neighbours (geometric for the rates), so every cell is centred on its value.
    log_rates = np.log10(lrs)
    rate_edges = 10 ** np.concatenate(
        [
            [1.5 * log_rates[0] - 0.5 * log_rates[1]],
            (log_rates[1:] + log_rates[:-1]) / 2,
            [1.5 * log_rates[-1] - 0.5 * log_rates[-2]],
        ]
    )
    rows = np.arange(len(momenta) + 1) - 0.5
    shown = np.ma.masked_invalid(np.where(losses > 0, losses, np.nan))
    # Colours span two decades above the lowest loss: the rest (an exploding trial reaches 1e20 and more)
    # would squeeze every trial worth comparing into one colour; those share the darkest one.
    top = min(finite.max(), finite.min() * 100)
    top = top if top > finite.min() else finite.min() * 10
    mesh = ax.pcolormesh(rate_edges, rows, shown, norm=LogNorm(finite.min(), top), cmap="viridis_r")
    extend = "max" if finite.max() > top else "neither"
    ax.figure.colorbar(mesh, ax=ax, extend=extend, label="loss (blank: diverged)")
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(momenta)), [f"{value:g}" for value in momenta])
    ax.set(xlabel="learning rate", ylabel=momentum_name)
    colours = ("tab:red", "white", "tab:orange", "black")
    for number, (label, points) in enumerate((marks or {}).items()):
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        rows_of = [int(np.argmin(np.abs(momenta - value))) for value in points[:, 1]]
        ax.plot(
            points[:, 0],
            rows_of,
            marker="o",
            linestyle="none",
            markerfacecolor="none",
            markersize=9,
            markeredgewidth=2,
            color=colours[number % len(colours)],
            label=label,
        )
    if marks:
        ax.legend(loc="upper left", fontsize="small")
    return ax
