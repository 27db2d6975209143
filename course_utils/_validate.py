"""Argument checks shared by the public functions.

Every message names the argument, shows the value received and says what was expected: for a
student, the error message is part of the lesson.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real

import numpy as np


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; otherwise raise naming them."""
    choices = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {choices}; got {value!r} ({type(value).__name__}).")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}; got {value!r}.")
    return value


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, rejecting bools, floats and values out of range."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} ({type(value).__name__}).")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}.")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be at most {maximum}; got {value}.")
    return value


def check_real(
    name: str,
    value,
    *,
    positive: bool = False,
    non_negative: bool = False,
    below: float | None = None,
    at_most: float | None = None,
) -> float:
    """Return ``value`` as a finite float, with optional sign and upper-bound checks."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a number; got {value!r} ({type(value).__name__}).")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number; got {value!r}.")
    if positive and value <= 0:
        raise ValueError(f"{name} must be positive (> 0); got {value!r}.")
    if non_negative and value < 0:
        raise ValueError(f"{name} must be zero or positive; got {value!r}.")
    if below is not None and value >= below:
        raise ValueError(f"{name} must be less than {below}; got {value!r}.")
    if at_most is not None and value > at_most:
        raise ValueError(f"{name} must be at most {at_most}; got {value!r}.")
    return value


def check_rate_range(start_name: str, start, end_name: str, end) -> tuple[float, float]:
    """Check a pair of learning rates: both positive and finite, ``start`` below ``end``."""
    start = check_real(start_name, start, positive=True)
    end = check_real(end_name, end, positive=True)
    if start >= end:
        raise ValueError(
            f"{start_name} must be smaller than {end_name} (the sweep goes up); "
            f"got {start_name}={start!r}, {end_name}={end!r}."
        )
    return start, end


def as_1d_float_array(name: str, value, *, min_length: int = 1) -> np.ndarray:
    """Convert ``value`` to a 1-D float array, rejecting strings, ragged and too-short input."""
    if isinstance(value, str | bytes) or value is None:
        raise TypeError(f"{name} must be a 1-D sequence of numbers; got {value!r}.")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be a 1-D sequence of numbers; could not read {value!r}: {error}"
        ) from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D; got an array of shape {array.shape}.")
    if array.size < min_length:
        raise ValueError(f"{name} must hold at least {min_length} value(s); got {array.size}.")
    return array


def check_same_length(first_name: str, first: np.ndarray, second_name: str, second: np.ndarray) -> None:
    """Raise if two arrays that pair up element by element differ in length."""
    if len(first) != len(second):
        raise ValueError(
            f"{first_name} and {second_name} must have the same length (one loss per rate); "
            f"got {len(first)} and {len(second)}."
        )


def check_positive_rates(lrs: np.ndarray) -> np.ndarray:
    """Return ``lrs`` (a 1-D array) if every rate in it is positive and finite; raise naming the bad ones."""
    bad = lrs[~(np.isfinite(lrs) & (lrs > 0))]
    if bad.size:
        raise ValueError(f"lrs must be positive, finite learning rates; got {bad[:5].tolist()} among them.")
    return lrs


def check_sweep_rates(lrs: np.ndarray) -> None:
    """Raise unless ``lrs`` (a 1-D array) holds positive, finite, strictly increasing rates."""
    check_positive_rates(lrs)
    steps = np.diff(lrs)
    if np.any(steps <= 0):
        where = int(np.argmax(steps <= 0))
        raise ValueError(
            "lrs must increase strictly (a sweep goes up); "
            f"got lrs[{where}]={float(lrs[where])!r} followed by lrs[{where + 1}]={float(lrs[where + 1])!r}."
        )


def renamed(name: str, value, old_name: str, old_value, *, default=None) -> tuple:
    """An argument that also has an old name: ``(its value, the name it was given as)``.

    ``old_value`` is None when the old name was not used; giving both names (``value`` not its
    ``default``) is an error.
    """
    if old_value is None:
        return value, name
    if value != default:
        raise TypeError(
            f"give {name} or its old name {old_name}, not both; got {name}={value!r}, {old_name}={old_value!r}."
        )
    return old_value, old_name
