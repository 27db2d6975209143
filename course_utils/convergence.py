"""Turn training curves into numbers that say which run converged faster.

"The chosen rate converges faster" is a claim about time, and a figure of two curves leaves the
reader to judge it by eye. These helpers state it in epochs: the loss of each run at a few epochs,
and the first epoch at which each run reaches a given loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from course_utils._validate import as_1d_float_array, check_int, check_real


def _losses(name: str, run) -> np.ndarray:
    """The per-epoch losses of ``run``: a sequence of numbers or a Keras ``History``."""
    history = getattr(run, "history", None)
    if isinstance(history, Mapping):
        if "loss" not in history:
            raise ValueError(f"{name} is a History without a 'loss' entry; it holds {sorted(history)}.")
        run = history["loss"]
    return as_1d_float_array(name, run)


def epochs_to_reach(losses, threshold: float) -> int | None:
    """The first epoch, counting from 1, whose loss is at or below ``threshold``; None if none is.

    ``losses`` is one loss per epoch (or a Keras ``History``). NaN and inf never count as reached,
    so a diverged run reports None rather than a misleading epoch.
    """
    losses = _losses("losses", losses)
    threshold = check_real("threshold", threshold)
    reached = np.flatnonzero(np.isfinite(losses) & (losses <= threshold))
    return int(reached[0]) + 1 if reached.size else None


def convergence_table(runs, epochs=(1, 2, 5, 10, 20), *, threshold: float | None = None) -> str:
    """A text table with one row per run: its loss after each of ``epochs`` (counting from 1).

    ``runs`` maps a name to per-epoch losses or a Keras ``History``. With ``threshold``, a last
    column gives the first epoch at which each run's loss reached it (``never`` if it did not).
    Epochs a run did not train show as ``-``.
    """
    if not isinstance(runs, Mapping) or not runs:
        raise TypeError(f"runs must be a non-empty dict {{name: losses or History}}; got {runs!r}.")
    if isinstance(epochs, int):
        epochs = (epochs,)
    epochs = [check_int("epochs", epoch, minimum=1) for epoch in epochs]
    if not epochs:
        raise ValueError("epochs must name at least one epoch, such as (1, 5, 10); got an empty sequence.")
    if threshold is not None:
        threshold = check_real("threshold", threshold)
    curves = {str(name): _losses(f"runs[{name!r}]", run) for name, run in runs.items()}

    width = max(10, *(len(name) for name in curves))
    header = f"{'run':<{width}}" + "".join(f"{f'epoch {epoch}':>11}" for epoch in epochs)
    if threshold is not None:
        header += f"  {f'epochs to loss <= {threshold:g}':>22}"
    lines = [header]
    for name, losses in curves.items():
        cells = [f"{losses[epoch - 1]:11.4g}" if epoch <= len(losses) else f"{'-':>11}" for epoch in epochs]
        row = f"{name:<{width}}" + "".join(cells)
        if threshold is not None:
            reached = epochs_to_reach(losses, threshold)
            row += f"  {'never' if reached is None else reached:>22}"
        lines.append(row)
    return "\n".join(lines)
