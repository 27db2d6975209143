"""Learning-rate schedules: the lesson's sweep, a per-step sweep, and decay from a chosen rate.

The sweep makes the rate *grow* so that one run visits many rates; decay makes it *shrink*
while a model trains. They look alike in code and do opposite jobs, so they live side by side.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from course_utils._validate import check_choice, check_int, check_rate_range, check_real


def sweep_schedule(start: float = 1e-8, epochs_per_decade: float = 20):
    """The lesson's sweep as a function of the epoch: ``start * 10**(epoch / epochs_per_decade)``.

    Pass it to ``tf.keras.callbacks.LearningRateScheduler``. With the defaults it is exactly the
    lesson's ``lambda epoch: 1e-8 * 10**(epoch / 20)``.
    """
    start = check_real("start", start, positive=True)
    epochs_per_decade = check_real("epochs_per_decade", epochs_per_decade, positive=True)

    def schedule(epoch):
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer):
            raise TypeError(f"epoch must be an integer epoch index; got {epoch!r}.")
        return start * 10 ** (epoch / epochs_per_decade)

    schedule.__doc__ = f"Learning rate for an epoch: {start:g} * 10**(epoch / {epochs_per_decade:g})."
    schedule.__name__ = schedule.__qualname__ = "sweep_schedule"
    return schedule


def sweep_rates(num_epochs: int = 100, start: float = 1e-8, epochs_per_decade: float = 20) -> np.ndarray:
    """The rates :func:`sweep_schedule` gives epochs ``0 .. num_epochs-1``: one per entry of ``history``."""
    num_epochs = check_int("num_epochs", num_epochs, minimum=1)
    schedule = sweep_schedule(start, epochs_per_decade)
    return np.array([schedule(epoch) for epoch in range(num_epochs)])


def geometric_rates(start_lr: float, end_lr: float, num: int) -> np.ndarray:
    """``num`` rates from ``start_lr`` to ``end_lr``, evenly spaced on a log axis."""
    start_lr, end_lr = check_rate_range("start_lr", start_lr, "end_lr", end_lr)
    num = check_int("num", num, minimum=2)
    return np.geomspace(start_lr, end_lr, num)


@keras.saving.register_keras_serializable(package="course_utils")
class ExponentialSweep(keras.optimizers.schedules.LearningRateSchedule):
    """Per-step sweep from ``start_lr`` to ``end_lr`` over ``num_steps`` optimizer steps.

    The rate at step ``s`` is ``start_lr * exp(s * log_ratio)`` (:meth:`formula`), computed in the
    graph, so no Python runs per batch: the optimizer asks for it at each step, and the range
    test's per-batch sweep evaluates the same formula in its own graph.
    """

    def __init__(self, start_lr: float, end_lr: float, num_steps: int):
        self.start_lr, self.end_lr = check_rate_range("start_lr", start_lr, "end_lr", end_lr)
        self.num_steps = check_int("num_steps", num_steps, minimum=2)
        #: How much the log of the rate grows per step: ``log(end_lr / start_lr) / (num_steps - 1)``.
        self.log_ratio = math.log(self.end_lr / self.start_lr) / (self.num_steps - 1)

    @staticmethod
    def formula(step, start_lr, log_ratio):
        """The rate at ``step``: ``start_lr * exp(step * log_ratio)``, for numbers or tensors of one float dtype."""
        return start_lr * ops.exp(step * log_ratio)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        return ops.cast(self.formula(step, self.start_lr, self.log_ratio), "float32")

    def rates(self) -> np.ndarray:
        """The rate at every step, as float64 (exact, unlike the float32 graph values)."""
        return geometric_rates(self.start_lr, self.end_lr, self.num_steps)

    def get_config(self):
        return {"start_lr": self.start_lr, "end_lr": self.end_lr, "num_steps": self.num_steps}


@keras.saving.register_keras_serializable(package="course_utils")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle policy: warm up from ``max_lr / div_factor`` to ``max_lr``, then anneal to ``max_lr / final_div``.

    Both halves follow half a cosine; ``warmup_fraction`` of the steps are spent rising.
    """

    def __init__(self, max_lr, total_steps, warmup_fraction=0.25, div_factor=25.0, final_div=1e4):
        self.max_lr = check_real("max_lr", max_lr, positive=True)
        self.total_steps = check_int("total_steps", total_steps, minimum=2)
        self.warmup_fraction = check_real("warmup_fraction", warmup_fraction, positive=True, below=1.0)
        self.div_factor = check_real("div_factor", div_factor, positive=True)
        self.final_div = check_real("final_div", final_div, positive=True)
        self.warmup_steps = max(1, round(self.total_steps * self.warmup_fraction))

    @staticmethod
    def _cosine(start, end, fraction):
        return end + (start - end) * (1 + ops.cos(math.pi * fraction)) / 2

    def __call__(self, step):
        step = ops.minimum(ops.cast(step, "float32"), float(self.total_steps - 1))
        low, end = self.max_lr / self.div_factor, self.max_lr / self.final_div
        warm = ops.minimum(step / float(self.warmup_steps), 1.0)
        anneal = ops.clip(
            (step - self.warmup_steps) / float(max(1, self.total_steps - 1 - self.warmup_steps)), 0.0, 1.0
        )
        rising = self._cosine(low, self.max_lr, warm)
        falling = self._cosine(self.max_lr, end, anneal)
        return ops.cast(ops.where(step < self.warmup_steps, rising, falling), "float32")

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "warmup_fraction": self.warmup_fraction,
            "div_factor": self.div_factor,
            "final_div": self.final_div,
        }


DECAY_KINDS = ("constant", "exponential", "cosine", "one_cycle")


def decay_schedule(kind: str, initial_lr: float, total_steps: int, **options):
    """A decay schedule that starts from (or, for one-cycle, peaks at) ``initial_lr``.

    ``kind`` is one of ``constant``, ``exponential`` (falls to ``final_fraction`` of the start,
    default 1 %), ``cosine`` (half a cosine down to ``alpha`` of the start, default 0) or
    ``one_cycle`` (see :func:`OneCycle`). ``total_steps`` is the number of optimizer steps.
    """
    kind = check_choice("kind", kind, DECAY_KINDS)
    initial_lr = check_real("initial_lr", initial_lr, positive=True)
    total_steps = check_int("total_steps", total_steps, minimum=2)
    allowed = {
        "constant": set(),
        "exponential": {"final_fraction"},
        "cosine": {"alpha"},
        "one_cycle": {"warmup_fraction", "div_factor", "final_div"},
    }[kind]
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(
            f"decay_schedule(kind={kind!r}) takes options {sorted(allowed)}; got {sorted(unknown)}."
        )
    if kind == "constant":
        return keras.optimizers.schedules.ExponentialDecay(
            initial_lr, decay_steps=total_steps, decay_rate=1.0
        )
    if kind == "exponential":
        final_fraction = check_real(
            "final_fraction", options.get("final_fraction", 0.01), positive=True, at_most=1.0
        )
        return keras.optimizers.schedules.ExponentialDecay(
            initial_lr, decay_steps=total_steps, decay_rate=final_fraction
        )
    if kind == "cosine":
        alpha = check_real("alpha", options.get("alpha", 0.0), non_negative=True, at_most=1.0)
        return keras.optimizers.schedules.CosineDecay(initial_lr, decay_steps=total_steps, alpha=alpha)
    return OneCycle(initial_lr, total_steps, **options)


def schedule_values(schedule, num_steps: int) -> np.ndarray:
    """The rate a ``LearningRateSchedule`` gives at steps ``0 .. num_steps-1``, as a NumPy array."""
    num_steps = check_int("num_steps", num_steps, minimum=1)
    if not callable(schedule):
        raise TypeError(f"schedule must be a LearningRateSchedule or callable; got {schedule!r}.")
    steps = ops.arange(num_steps, dtype="float32")
    return np.asarray(ops.convert_to_numpy(schedule(steps)), dtype=float)
