"""The per-batch sweep as one graph, and the optimizer's rate variable that a sweep sets.

A ``tf.function`` pulls batches from the repeated data set, sets the step's rate (the formula of
:class:`~course_utils.schedules.ExponentialSweep`), applies the model's own optimizer, and stops by
itself once the loss diverges: no Python runs per batch. The traced function is kept per model and
reused while its optimizer and compiled loss stay the same; every value a sweep varies (its rates,
length, stop rule) is a tensor argument, so a new sweep does not retrace.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from course_utils.defaults import STOP_COMPLETED, STOP_DIVERGED, STOP_NON_FINITE
from course_utils.schedules import ExponentialSweep

#: The stop reasons as the graph returns them.
STOP_CODES = {STOP_COMPLETED: 0, STOP_DIVERGED: 1, STOP_NON_FINITE: 2}
_STOP_REASONS = {code: reason for reason, code in STOP_CODES.items()}


class SettableRate:
    """Give the optimizer a rate variable for the duration of a sweep.

    An optimizer compiled with a float rate already has one. One compiled with a schedule (or a
    callable) gets a stand-in variable, swapped back afterwards, because a sweep has to set the
    rate itself.
    """

    def __init__(self, optimizer, variable=None):
        self.optimizer = optimizer
        self.original = optimizer._learning_rate
        if isinstance(self.original, keras.Variable):
            self.variable = self.original
        else:
            self.variable = variable
            if variable is None:
                self.variable = keras.Variable(
                    0.0, dtype=keras.backend.floatx(), trainable=False, name="range_test_learning_rate"
                )

    def __enter__(self):
        if self.variable is not self.original:
            self.optimizer._learning_rate = self.variable
        return self.variable

    def __exit__(self, *exc_info):
        self.optimizer._learning_rate = self.original
        return False


@dataclass
class _SweepGraph:
    """A traced sweep for one model, kept while its optimizer and compiled loss stay the same."""

    optimizer_ref: weakref.ref
    loss_ref: object
    rate_variable: object
    function: object


#: model -> _SweepGraph; weak, so a model that goes away takes its graph with it.
_SWEEP_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled_loss_ref(model):
    compiled = getattr(model, "_compile_loss", None)
    return weakref.ref(compiled) if compiled is not None else None


def _sweep_graph(model) -> _SweepGraph:
    """The cached sweep graph of ``model``, traced anew only if it was recompiled."""
    entry = _SWEEP_GRAPHS.get(model)
    loss_ref = _compiled_loss_ref(model)
    if (
        entry is not None
        and entry.optimizer_ref() is model.optimizer
        and (entry.loss_ref() if entry.loss_ref else None) is (loss_ref() if loss_ref else None)
    ):
        return entry
    rate = SettableRate(model.optimizer)
    entry = _SweepGraph(
        optimizer_ref=weakref.ref(model.optimizer),
        loss_ref=loss_ref,
        rate_variable=rate.variable,
        function=_build_sweep_function(weakref.ref(model), model.optimizer, rate.variable),
    )
    _SWEEP_GRAPHS[model] = entry
    return entry


def _build_sweep_function(model_ref, optimizer, rate_variable):
    """Trace-once function running sweep steps ``first .. last-1`` (or until divergence).

    Every argument is a tensor (or the data iterator), so new rates, lengths or chunks reuse
    the trace. The loop is a plain ``tf.while_loop`` traced without AutoGraph (as Keras traces
    its own train step), which keeps the first trace short. The model is held weakly so the
    cache does not keep it alive.
    """

    def train_on(batch, step, start_lr, log_ratio):
        model = model_ref()
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        rate = ExponentialSweep.formula(tf.cast(step, tf.float64), start_lr, log_ratio)
        set_rate = rate_variable.assign(tf.cast(rate, rate_variable.dtype))
        with tf.control_dependencies([set_rate]):
            with tf.GradientTape() as tape:
                y_pred = model(x, training=True)
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
                scaled = optimizer.scale_loss(loss)
            gradients = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return tf.cast(loss, tf.float32)

    @tf.function(autograph=False)
    def run_steps(iterator, first, last, start_lr, log_ratio, beta, warmup, diverge_factor, average, best):
        losses = tf.TensorArray(tf.float32, size=last - first)

        def keep_going(step, average, best, reason, losses):
            return tf.logical_and(step < last, tf.equal(reason, STOP_CODES[STOP_COMPLETED]))

        def one_step(step, average, best, reason, losses):
            loss = train_on(iterator.get_next(), step, start_lr, log_ratio)
            losses = losses.write(step - first, loss)
            # Debiased moving average, as course_utils.suggest.smooth_losses computes it.
            average = beta * average + (1.0 - beta) * tf.cast(loss, tf.float64)
            smoothed = average / (1.0 - tf.pow(beta, tf.cast(step + 1, tf.float64)))
            warmed_up = step + 1 >= warmup
            best = tf.where(warmed_up, tf.minimum(best, smoothed), best)
            reason = tf.where(
                tf.math.is_finite(smoothed),
                tf.where(
                    smoothed > diverge_factor * best,
                    STOP_CODES[STOP_DIVERGED],
                    STOP_CODES[STOP_COMPLETED],
                ),
                STOP_CODES[STOP_NON_FINITE],
            )
            return step + 1, average, best, reason, losses

        step, average, best, reason, losses = tf.while_loop(
            keep_going,
            one_step,
            (first, average, best, tf.constant(STOP_CODES[STOP_COMPLETED]), losses),
        )
        return losses.stack()[: step - first], average, best, reason

    return run_steps


def stop_warmup(beta: float) -> int:
    """How many batches the stop rule's moving average takes in before its best value counts.

    One window of the average, ``1 / (1 - beta)`` batches (50 for the default 0.98; 1 for
    ``beta=0``, a rule on the raw losses). A sweep shorter than that stops on non-finite losses only.
    """
    return max(1, math.ceil(1.0 / (1.0 - beta) - 1e-9))


def sweep_per_batch(
    model,
    dataset,
    schedule: ExponentialSweep,
    beta: float,
    diverge_factor: float | None,
    *,
    chunk: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, str]:
    """Train ``model`` one batch per rate of ``schedule``; return the losses and why it stopped.

    The sweep stops once the debiased moving average of the loss (weight ``beta``) exceeds
    ``diverge_factor`` times its best value (``None``: never) or is no longer finite. The best
    value counts from the end of the average's warm-up (:func:`stop_warmup`): before that the
    average holds a few batches only, and one easy first batch would set a best that the next
    ordinary batches exceed fourfold, stopping a sweep at rates far too small to diverge. It runs as
    one graph call, or in calls of ``chunk`` steps with ``on_chunk(steps done)`` after each (to
    move a progress bar). The model's weights and optimizer state are left as the sweep made them.
    """
    graph = _sweep_graph(model)
    num_steps = schedule.num_steps
    chunk = num_steps if chunk is None else chunk
    iterator = iter(dataset.repeat())
    start_lr = tf.constant(schedule.start_lr, tf.float64)
    log_ratio = tf.constant(schedule.log_ratio, tf.float64)
    warmup = tf.constant(stop_warmup(beta), tf.int32)
    beta = tf.constant(beta, tf.float64)
    factor = tf.constant(math.inf if diverge_factor is None else diverge_factor, tf.float64)
    average = tf.constant(0.0, tf.float64)
    best = tf.constant(math.inf, tf.float64)
    losses, code = [], STOP_CODES[STOP_COMPLETED]
    with SettableRate(model.optimizer, graph.rate_variable):
        first = 0
        while first < num_steps and code == STOP_CODES[STOP_COMPLETED]:
            last = min(first + chunk, num_steps)
            chunk_losses, average, best, code = graph.function(
                iterator,
                tf.constant(first),
                tf.constant(last),
                start_lr,
                log_ratio,
                beta,
                warmup,
                factor,
                average,
                best,
            )
            losses.append(chunk_losses.numpy())
            code = int(code)
            if on_chunk is not None:
                on_chunk(len(losses[-1]))
            first = last
    return np.concatenate(losses).astype(float), _STOP_REASONS[code]
