"""The learning-rate range test: train while the rate grows, record the loss at every rate.

Two ways to sweep, one result type:

- ``per="epoch"`` is the lesson's method: ``LearningRateScheduler`` sets one rate per epoch and
  ``history["loss"]`` gives one (epoch-mean) loss per rate. Slow (one epoch per rate) and, with
  the lesson's defaults, exactly what students ran.
- ``per="batch"`` sets one rate per optimizer step and records the true loss of every batch
  (Keras' logs only hold the running mean of the epoch). The whole sweep runs as one graph:
  a ``tf.function`` pulls batches from the repeated data set, computes the step's rate, applies
  the model's own optimizer and stops by itself once the loss diverges, so no Python runs per
  batch and a second call reuses the traced graph.

Both leave the model as they found it (weights and optimizer state), unless ``restore=False``.
``trials="independent"`` instead trains every rate from the same starting weights
(:mod:`course_utils.trials`).
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from course_utils._validate import check_choice, check_int, check_rate_range, check_real
from course_utils.schedules import ExponentialSweep, geometric_rates, sweep_rates, sweep_schedule

PER_CHOICES = ("batch", "epoch")
TRIALS_CHOICES = ("continuous", "independent")

#: The lesson's sweep: 1e-8 * 10**(epoch / 20) for 100 epochs.
LESSON_START_LR = 1e-8
LESSON_EPOCHS_PER_DECADE = 20
LESSON_NUM_EPOCHS = 100
LESSON_END_LR = LESSON_START_LR * 10 ** ((LESSON_NUM_EPOCHS - 1) / LESSON_EPOCHS_PER_DECADE)

#: Defaults of the per-batch sweep (see :func:`lr_range_test` for why these values).
BATCH_START_LR = 1e-8
BATCH_END_LR = 1e-2
BATCH_NUM_STEPS = 1200

STOP_COMPLETED = "completed"
STOP_DIVERGED = "diverged"
STOP_NON_FINITE = "non-finite loss"
STOP_CODES = {STOP_COMPLETED: 0, STOP_DIVERGED: 1, STOP_NON_FINITE: 2}


@dataclass(repr=False, eq=False)
class RangeTestResult:
    """What a range test recorded: ``losses[i]`` is the loss at rate ``lrs[i]``.

    ``losses`` are raw (per batch, per epoch or per trial); ``smoothed_losses`` are what the
    sweep's stop rule looked at. Read the curve with :meth:`suggest`, :meth:`usable_range` and
    :meth:`plot`; :meth:`summary` puts it all in a few lines.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    per: str
    trials: str
    elapsed: float
    num_steps: int = 0
    stop_reason: str = STOP_COMPLETED
    smoothing: float = 0.0
    trials_outcome: object = field(default=None, repr=False)

    @property
    def stopped_early(self) -> bool:
        """True when the sweep ended before its last planned rate (the loss diverged)."""
        return self.stop_reason != STOP_COMPLETED

    def suggest(self, method: str = "valley", **options) -> float:
        """A suggested rate, read from the raw losses by :func:`course_utils.suggest.suggest_lr`."""
        from course_utils.suggest import suggest_lr

        return suggest_lr(self.lrs, self.losses, method=method, **options)

    def usable_range(self) -> tuple[float, float]:
        """``(low_lr, high_lr)``: where the loss falls steadily, before instability."""
        from course_utils.suggest import usable_range

        return usable_range(self.lrs, self.losses)

    def plot(self, ax=None, methods=("valley",)):
        """Loss against rate on a log axis, with the smoothed curve, suggestions and usable band."""
        from course_utils.plots import plot_sweep

        if isinstance(methods, str):
            methods = (methods,)
        suggestions = {name: self.suggest(name) for name in methods}
        return plot_sweep(
            self.lrs,
            self.losses,
            smoothed=self.smoothed_losses,
            suggestions=suggestions,
            usable=self.usable_range(),
            ax=ax,
        )

    def summary(self) -> str:
        """A few lines for a person: what was swept, how it ended, and what every rule suggests."""
        from course_utils.suggest import SUGGESTION_METHODS

        lines = [repr(self)]
        for method in SUGGESTION_METHODS:
            try:
                lines.append(f"  {method:<9} {self.suggest(method):.3g}")
            except ValueError as error:
                lines.append(f"  {method:<9} n/a ({error})")
        try:
            low, high = self.usable_range()
            lines.append(f"  usable    {low:.3g} .. {high:.3g}")
        except ValueError:
            pass
        return "\n".join(lines)

    def __repr__(self) -> str:
        span = f"{len(self.lrs)} rates {self.lrs[0]:.3g}..{self.lrs[-1]:.3g}" if len(self.lrs) else "no rates"
        finite = self.losses[np.isfinite(self.losses)]
        best = f", lowest loss {finite.min():.4g}" if finite.size else ""
        return (
            f"RangeTestResult(per={self.per!r}, trials={self.trials!r}, {span}{best}, "
            f"{self.stop_reason}, {self.elapsed:.2f} s)"
        )


# ---------------------------------------------------------------------------------------------
# Input checks


def _check_model(model):
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "lr_range_test needs Keras 3 with the TensorFlow backend; "
            f"KERAS_BACKEND is {keras.backend.backend()!r}."
        )
    if not isinstance(model, keras.Model):
        kind = f"{type(model).__module__}.{type(model).__name__}"
        raise TypeError(f"model must be a Keras 3 keras.Model; got {kind}.")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            f"model {model.name!r} is not compiled: call model.compile(optimizer=..., loss=...) first "
            "(the range test trains with the compiled optimizer and loss)."
        )
    return model


def _check_dataset(dataset):
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(
            "dataset must be a tf.data.Dataset of (inputs, targets) batches, e.g. from "
            f"course_utils.windowed_dataset(); got {type(dataset).__name__}."
        )
    spec = dataset.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise TypeError(
            "dataset must yield (inputs, targets) or (inputs, targets, sample_weights) batches; "
            f"got elements of spec {spec!r}."
        )
    return dataset


def _resolve_rates(start_lr, end_lr, num_steps, default_start, default_end, default_steps):
    """Fill in defaults and check the sweep's rate range and length."""
    start = default_start if start_lr is None else start_lr
    end = default_end if end_lr is None else end_lr
    steps = default_steps if num_steps is None else num_steps
    start, end = check_rate_range("start_lr", start, "end_lr", end)
    steps = check_int("num_steps", steps, minimum=2)
    return start, end, steps


# ---------------------------------------------------------------------------------------------
# Snapshot and restore


def _prepare(model, dataset):
    """Check the data set has a batch, and build the model and its optimizer.

    Building first means every variable the sweep touches exists before the snapshot, so an
    optimizer that had never run gets its fresh (zero) slots back afterwards.
    """
    try:
        batch = next(iter(dataset))
    except StopIteration:
        raise ValueError("dataset yielded no batches; the range test needs at least one.") from None
    if not model.built or not model.weights:
        x, _, _ = keras.utils.unpack_x_y_sample_weight(batch)
        model(x)
    optimizer = model.optimizer
    if not optimizer.built:
        # fit() builds it the same way.
        optimizer.build(model.trainable_variables)


def _snapshot(model):
    variables = list(model.weights) + list(model.optimizer.variables)
    return variables, [variable.numpy() for variable in variables]


def _restore(snapshot):
    variables, values = snapshot
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


class _SettableRate:
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


# ---------------------------------------------------------------------------------------------
# The per-batch sweep as one graph


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
    rate = _SettableRate(model.optimizer)
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

    def train_on(batch, step, log_start, log_ratio):
        model = model_ref()
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(batch)
        rate = tf.exp(log_start + tf.cast(step, tf.float64) * log_ratio)
        set_rate = rate_variable.assign(tf.cast(rate, rate_variable.dtype))
        with tf.control_dependencies([set_rate]):
            with tf.GradientTape() as tape:
                y_pred = model(x, training=True)
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
                scaled = optimizer.scale_loss(loss)
            gradients = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return tf.cast(loss, tf.float32), tf.cast(rate, tf.float32)

    @tf.function(autograph=False)
    def run_steps(iterator, first, last, log_start, log_ratio, beta, diverge_factor, average, best):
        size = last - first
        losses = tf.TensorArray(tf.float32, size=size)
        rates = tf.TensorArray(tf.float32, size=size)

        def keep_going(step, average, best, reason, losses, rates):
            return tf.logical_and(step < last, tf.equal(reason, STOP_CODES[STOP_COMPLETED]))

        def one_step(step, average, best, reason, losses, rates):
            loss, rate = train_on(iterator.get_next(), step, log_start, log_ratio)
            losses = losses.write(step - first, loss)
            rates = rates.write(step - first, rate)
            # Debiased moving average, as course_utils.suggest.smooth_losses computes it.
            average = beta * average + (1.0 - beta) * tf.cast(loss, tf.float64)
            smoothed = average / (1.0 - tf.pow(beta, tf.cast(step + 1, tf.float64)))
            best = tf.minimum(best, smoothed)
            reason = tf.where(
                tf.math.is_finite(smoothed),
                tf.where(
                    smoothed > diverge_factor * best,
                    STOP_CODES[STOP_DIVERGED],
                    STOP_CODES[STOP_COMPLETED],
                ),
                STOP_CODES[STOP_NON_FINITE],
            )
            return step + 1, average, best, reason, losses, rates

        step, average, best, reason, losses, rates = tf.while_loop(
            keep_going,
            one_step,
            (first, average, best, tf.constant(STOP_CODES[STOP_COMPLETED]), losses, rates),
        )
        done = step - first
        return losses.stack()[:done], rates.stack()[:done], average, best, reason

    return run_steps


def _per_batch_sweep(model, dataset, start, end, num_steps, smoothing, diverge_factor, progress):
    schedule = ExponentialSweep(start, end, num_steps)
    graph = _sweep_graph(model)
    bar = _progress_bar(progress, num_steps, "range test (per batch)")
    # Chunks only exist to move the progress bar; without it the whole sweep is one call.
    chunk = max(1, math.ceil(num_steps / 20)) if bar is not None else num_steps
    iterator = iter(dataset.repeat())
    log_start = tf.constant(math.log(start), tf.float64)
    log_ratio = tf.constant(schedule._log_ratio, tf.float64)
    beta = tf.constant(smoothing, tf.float64)
    factor = tf.constant(math.inf if diverge_factor is None else diverge_factor, tf.float64)
    average = tf.constant(0.0, tf.float64)
    best = tf.constant(math.inf, tf.float64)
    losses, applied, reason = [], [], 0
    with _SettableRate(model.optimizer, graph.rate_variable):
        first = 0
        while first < num_steps and reason == 0:
            last = min(first + chunk, num_steps)
            chunk_losses, chunk_rates, average, best, code = graph.function(
                iterator,
                tf.constant(first),
                tf.constant(last),
                log_start,
                log_ratio,
                beta,
                factor,
                average,
                best,
            )
            losses.append(chunk_losses.numpy())
            applied.append(chunk_rates.numpy())
            reason = int(code)
            if bar is not None:
                bar.update(len(losses[-1]))
            first = last
    losses = np.concatenate(losses).astype(float)
    stop_reason = {code: name for name, code in STOP_CODES.items()}[reason]
    if bar is not None:
        if reason:
            bar.set_postfix_str(stop_reason)
        bar.close()
    return schedule.rates()[: losses.size], losses, np.concatenate(applied).astype(float), stop_reason


# ---------------------------------------------------------------------------------------------
# The per-epoch sweep (the lesson's method)


def _per_epoch_sweep(model, dataset, start_lr, end_lr, num_steps, progress, verbose):
    if start_lr is None and end_lr is None and num_steps is None:
        schedule = sweep_schedule(LESSON_START_LR, LESSON_EPOCHS_PER_DECADE)
        lrs = sweep_rates(LESSON_NUM_EPOCHS, LESSON_START_LR, LESSON_EPOCHS_PER_DECADE)
    else:
        start, end, steps = _resolve_rates(
            start_lr, end_lr, num_steps, LESSON_START_LR, LESSON_END_LR, LESSON_NUM_EPOCHS
        )
        lrs = geometric_rates(start, end, steps)

        def schedule(epoch):
            return float(lrs[epoch])

    callbacks = [keras.callbacks.LearningRateScheduler(schedule)]
    bar = _progress_bar(progress, len(lrs), "range test (per epoch)")
    if bar is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: bar.update(1)))
    try:
        with _SettableRate(model.optimizer):
            history = model.fit(dataset, epochs=len(lrs), callbacks=callbacks, verbose=verbose)
    finally:
        if bar is not None:
            bar.close()
    losses = np.asarray(history.history["loss"], dtype=float)
    return lrs, losses


def _progress_bar(progress, total, description):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="rate")


# ---------------------------------------------------------------------------------------------
# The public entry point


def lr_range_test(
    model,
    dataset,
    *,
    per: str = "batch",
    trials: str = "continuous",
    start_lr: float | None = None,
    end_lr: float | None = None,
    num_steps: int | None = None,
    epochs_per_trial: int = 1,
    smoothing: float = 0.98,
    diverge_factor: float | None = 4.0,
    restore: bool = True,
    progress: bool = False,
    verbose: int = 0,
) -> RangeTestResult:
    """Sweep the learning rate of a compiled Keras model upwards and record the loss at each rate.

    ``per="epoch"`` is the lesson's sweep: with no ``start_lr``/``end_lr``/``num_steps`` it runs
    ``LearningRateScheduler(sweep_schedule())`` for 100 epochs, rates ``1e-8 * 10**(epoch / 20)``;
    given any of them, the rates are geometric from ``start_lr`` to ``end_lr`` over ``num_steps``
    epochs (missing ones take the lesson's values).

    ``per="batch"`` raises the rate every optimizer step, following
    ``ExponentialSweep(start_lr, end_lr, num_steps)``, records each batch's own loss and stops as
    soon as the debiased moving average of the loss (weight ``smoothing``) exceeds
    ``diverge_factor`` times its best value or stops being finite (``diverge_factor=None`` only
    stops on non-finite losses). Defaults: 1e-8 to 1e-2 over 1200 steps, i.e. 200 steps per
    decade. On the course's data and Dense model, the loss holds still for the first steps,
    falls from about 2e-8 and blows up near 8e-5 (after some 780 steps, 25 epochs of 31
    batches), and the rates that train well when fixed (3e-7 to 1.5e-5 within 10 % of the best
    validation MAE) lie well inside. So the sweep opens before anything happens, as the lesson's
    does, and reaches divergence long before its end; the end only bounds the run. The 200 steps
    per decade keep the moving average's lag (about 50 steps) near a quarter of a decade, so
    smoothing moves the curve little to the right. A model whose loss already falls at the
    first step (the recurrent model, say) wants a lower ``start_lr``.

    ``trials="independent"`` trains every rate for ``epochs_per_trial`` epochs from the model's
    current weights (:func:`course_utils.trials.run_independent_trials`); its default rates are
    the lesson's 100, and ``per`` does not apply (each trial keeps its rate throughout). Its
    losses are not smoothed: each comes from its own run, so a moving average along the rate
    axis would only blur neighbouring, unrelated trials (and shift the curve to the right).

    ``restore=True`` puts back the model's weights and its optimizer's variables (step count,
    rate, momentum) afterwards, bit for bit. ``progress`` shows a tqdm bar; ``verbose`` is passed
    to ``fit`` (per epoch) or prints a one-line summary (per batch).
    """
    per = check_choice("per", per, PER_CHOICES)
    trials = check_choice("trials", trials, TRIALS_CHOICES)
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if value is not None:
            check_real(name, value, positive=True)
    if num_steps is not None:
        check_int("num_steps", num_steps, minimum=2)
    epochs_per_trial = check_int("epochs_per_trial", epochs_per_trial, minimum=1)
    if trials == "continuous" and epochs_per_trial != 1:
        raise ValueError(
            f"epochs_per_trial applies to trials='independent' only; got epochs_per_trial={epochs_per_trial} "
            "with trials='continuous'."
        )
    smoothing = check_real("smoothing", smoothing, non_negative=True, below=1.0)
    if diverge_factor is not None:
        diverge_factor = check_real("diverge_factor", diverge_factor, positive=True)
        if diverge_factor <= 1:
            raise ValueError(
                f"diverge_factor must be greater than 1 (a multiple of the best loss); got {diverge_factor!r}."
            )
    for name, value in (("restore", restore), ("progress", progress)):
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"{name} must be True or False; got {value!r} ({type(value).__name__}).")
    verbose = check_int("verbose", verbose, minimum=0)
    model = _check_model(model)
    dataset = _check_dataset(dataset)

    if trials == "independent":
        return _independent(model, dataset, per, start_lr, end_lr, num_steps, epochs_per_trial, progress)

    if per == "batch":
        start, end, steps = _resolve_rates(
            start_lr, end_lr, num_steps, BATCH_START_LR, BATCH_END_LR, BATCH_NUM_STEPS
        )
    _prepare(model, dataset)
    snapshot = _snapshot(model) if restore else None
    began = time.perf_counter()
    try:
        if per == "batch":
            lrs, losses, _, stop_reason = _per_batch_sweep(
                model, dataset, start, end, steps, smoothing, diverge_factor, progress
            )
        else:
            lrs, losses = _per_epoch_sweep(model, dataset, start_lr, end_lr, num_steps, progress, verbose)
            steps, stop_reason = len(lrs), STOP_COMPLETED
    finally:
        if snapshot is not None:
            _restore(snapshot)
    elapsed = time.perf_counter() - began
    from course_utils.suggest import smooth_losses

    result = RangeTestResult(
        lrs=np.asarray(lrs, dtype=float),
        losses=losses,
        smoothed_losses=smooth_losses(losses, beta=smoothing),
        per=per,
        trials=trials,
        elapsed=elapsed,
        num_steps=steps,
        stop_reason=stop_reason,
        smoothing=smoothing,
    )
    if verbose and per == "batch":
        print(repr(result))
    return result


def _independent(model, dataset, per, start_lr, end_lr, num_steps, epochs_per_trial, progress):
    """Every rate from the same starting weights: the trials module trains them all at once."""
    from course_utils.trials import run_independent_trials

    if start_lr is None and end_lr is None and num_steps is None:
        lrs = sweep_rates(LESSON_NUM_EPOCHS, LESSON_START_LR, LESSON_EPOCHS_PER_DECADE)
    else:
        start, end, steps = _resolve_rates(
            start_lr, end_lr, num_steps, LESSON_START_LR, LESSON_END_LR, LESSON_NUM_EPOCHS
        )
        lrs = geometric_rates(start, end, steps)
    bar = _progress_bar(progress, 1, "range test (independent trials)")
    began = time.perf_counter()
    try:
        outcome = run_independent_trials(model, dataset, lrs, epochs_per_trial=epochs_per_trial)
    finally:
        if bar is not None:
            bar.update(1)
            bar.close()
    elapsed = time.perf_counter() - began
    losses = np.asarray(outcome.losses, dtype=float)
    return RangeTestResult(
        lrs=np.asarray(lrs, dtype=float),
        losses=losses,
        smoothed_losses=losses.copy(),
        per=per,
        trials="independent",
        elapsed=elapsed,
        num_steps=len(lrs),
        stop_reason=STOP_COMPLETED,
        smoothing=0.0,
        trials_outcome=outcome,
    )
