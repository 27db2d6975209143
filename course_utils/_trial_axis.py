"""The machinery behind :mod:`course_utils.trials`: a model, its optimizer and its loss with a trial axis.

Every weight gets a leading axis of length ``trials``; trial ``t`` owns slice ``t`` of every
weight and optimizer slot, its own learning rate and its own momentum (Adam: ``beta_1``). One batch goes through all the trials at
once (batched matrix products keep the slices apart), so one pass over the data trains them all.

Only what can be reproduced exactly is accepted: a few layer types, SGD and Adam, Keras' own
per-sample loss functions. :func:`make_plan` raises :class:`Unsupported` with a reason for
anything else, and the caller falls back to training separate copies. Each update mirrors the
arithmetic of ``keras/src/optimizers/sgd.py`` and ``adam.py`` operation by operation (the same
float32 constants in the same order), so the trials match separately trained models up to the
rounding of the matrix products.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras.src.losses import LossFunctionWrapper  # not exported by keras.losses, needed to read .fn


class Unsupported(Exception):
    """The model, optimizer, loss or data set is outside what the trial axis can express."""


# --------------------------------------------------------------------------------------------
# Layers. Tensors flow either "shared" ([batch, ...], the same for every trial, before the first
# layer with weights) or with the trial axis ([trials, batch, ...]).


def _batched_matmul(x, kernel, shared):
    """``x @ kernel`` over the last axis of ``x``, one kernel slice per trial: returns [trials, batch, ..., units]."""
    in_dim, units = kernel.shape[-2], kernel.shape[-1]
    rank = len(x.shape)
    if shared:
        flat = x[None] if rank == 2 else tf.reshape(x, [1, -1, in_dim])
        out_shape = tf.concat([tf.shape(kernel)[:1], tf.shape(x)[:-1], [units]], axis=0)
        plain = rank == 2
    else:
        flat = x if rank == 3 else tf.reshape(x, tf.concat([tf.shape(x)[:1], [-1, in_dim]], axis=0))
        out_shape = tf.concat([tf.shape(x)[:-1], [units]], axis=0)
        plain = rank == 3
    product = tf.matmul(flat, kernel)  # broadcasts a shared [1, n, in] over the trials
    return product, (None if plain else out_shape)


def _bias_shape(bias):
    """[trials, units] -> [trials, 1, units], to add to [trials, n, units]."""
    return bias[:, None, :]


@dataclass(frozen=True)
class DenseOp:
    kernel: int
    bias: int | None
    activation: Callable

    def __call__(self, weights, x, shared):
        out, shape = _batched_matmul(x, weights[self.kernel], shared)
        if self.bias is not None:
            out = out + _bias_shape(weights[self.bias])
        if shape is not None:
            out = tf.reshape(out, shape)
        return self.activation(out), False


@dataclass(frozen=True)
class SimpleRNNOp:
    kernel: int
    recurrent_kernel: int
    bias: int | None
    activation: Callable
    return_sequences: bool

    def __call__(self, weights, x, shared):
        # The input projection does not depend on the state: do it for every step at once.
        steps = x.shape[-2]
        if steps is None:
            raise Unsupported("SimpleRNN needs a fixed number of time steps")
        projected, _ = _batched_matmul(x, weights[self.kernel], shared)  # [trials, batch*steps, units]
        if self.bias is not None:
            projected = projected + _bias_shape(weights[self.bias])
        units = weights[self.kernel].shape[-1]
        leading = tf.shape(x)[:1] if shared else tf.shape(x)[1:2]
        projected = tf.reshape(
            projected, tf.concat([tf.shape(weights[self.kernel])[:1], leading, [steps, units]], axis=0)
        )
        # Time-major pieces: unstacking (not slicing) keeps the backward pass to one stack.
        inputs = tf.unstack(tf.transpose(projected, [2, 0, 1, 3]), num=steps)
        recurrent = weights[self.recurrent_kernel]
        state, outputs = None, []
        for pre in inputs:
            # Keras adds `state @ recurrent_kernel` to the projection; the initial state is zero.
            if state is not None:
                pre = pre + tf.matmul(state, recurrent)
            state = self.activation(pre)
            outputs.append(state)
        return (tf.stack(outputs, axis=2) if self.return_sequences else state), False


@dataclass(frozen=True)
class ReshapeOp:
    target_shape: tuple

    def __call__(self, weights, x, shared):
        keep = 1 if shared else 2
        return tf.reshape(x, tf.concat([tf.shape(x)[:keep], list(self.target_shape)], axis=0)), shared


@dataclass(frozen=True)
class FlattenOp:
    def __call__(self, weights, x, shared):
        keep = 1 if shared else 2
        return tf.reshape(x, tf.concat([tf.shape(x)[:keep], [-1]], axis=0)), shared


@dataclass(frozen=True)
class RescalingOp:
    scale: float
    offset: float

    def __call__(self, weights, x, shared):
        return x * tf.cast(self.scale, x.dtype) + tf.cast(self.offset, x.dtype), shared


@dataclass(frozen=True)
class ActivationOp:
    activation: Callable

    def __call__(self, weights, x, shared):
        return self.activation(x), shared


def _is_keras_activation(function) -> bool:
    return callable(function) and getattr(function, "__module__", "").startswith("keras.src.activations")


_EXTRAS = (
    "kernel_regularizer",
    "bias_regularizer",
    "recurrent_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
    "recurrent_constraint",
)


def _check_plain_layer(layer, owners=None):
    """Reject regularizers, constraints, other dtypes and frozen weights: they change the update."""
    for owner in owners or (layer,):
        for name in _EXTRAS:
            if getattr(owner, name, None) is not None:
                raise Unsupported(f"layer {layer.name!r} has a {name}")
    if layer.dtype_policy.name != "float32":
        raise Unsupported(f"layer {layer.name!r} uses dtype policy {layer.dtype_policy.name!r}, not float32")
    if not layer.trainable:
        raise Unsupported(f"layer {layer.name!r} is frozen (trainable=False)")


def _layer_op(layer, index_of):
    kind = type(layer)
    name = f"layer {layer.name!r} ({kind.__name__})"
    if kind is keras.layers.InputLayer:
        return None
    if getattr(layer, "activity_regularizer", None) is not None:
        raise Unsupported(f"{name} has an activity_regularizer")
    if kind is keras.layers.Dense:
        _check_plain_layer(layer)
        if layer.lora_enabled or layer.quantization_mode is not None:
            raise Unsupported(f"{name} uses LoRA or quantization")
        if not _is_keras_activation(layer.activation):
            raise Unsupported(f"{name} has a custom activation")
        bias = index_of(layer.bias) if layer.use_bias else None
        return DenseOp(index_of(layer.kernel), bias, layer.activation)
    if kind is keras.layers.SimpleRNN:
        _check_plain_layer(layer, (layer, layer.cell))
        if layer.stateful or layer.go_backwards or layer.return_state:
            raise Unsupported(f"{name} is stateful, goes backwards or returns its state")
        if layer.dropout or layer.recurrent_dropout:
            raise Unsupported(f"{name} uses dropout (random, different in every trial)")
        if not _is_keras_activation(layer.activation):
            raise Unsupported(f"{name} has a custom activation")
        cell = layer.cell
        bias = index_of(cell.bias) if cell.use_bias else None
        return SimpleRNNOp(
            index_of(cell.kernel),
            index_of(cell.recurrent_kernel),
            bias,
            layer.activation,
            layer.return_sequences,
        )
    if kind is keras.layers.Reshape:
        return ReshapeOp(tuple(int(size) for size in layer.target_shape))
    if kind is keras.layers.Flatten:
        if layer.data_format == "channels_first":
            raise Unsupported(f"{name} uses channels_first")
        return FlattenOp()
    if kind is keras.layers.Rescaling:
        if layer.dtype_policy.name != "float32":
            raise Unsupported(f"{name} uses dtype policy {layer.dtype_policy.name!r}")
        try:
            return RescalingOp(float(layer.scale), float(layer.offset))
        except TypeError:
            raise Unsupported(f"{name} has a non-scalar scale or offset") from None
    if kind is keras.layers.Activation:
        if not _is_keras_activation(layer.activation):
            raise Unsupported(f"{name} has a custom activation")
        return ActivationOp(layer.activation)
    raise Unsupported(
        f"{name} is not one of the layers the trial axis supports "
        "(Input, Dense, SimpleRNN, Reshape, Flatten, Rescaling, Activation)"
    )


def _layer_ops(model) -> tuple:
    if type(model) is not keras.Sequential:
        raise Unsupported(f"the model is a {type(model).__name__}, not a keras.Sequential")
    positions = {id(variable): position for position, variable in enumerate(model.weights)}
    if not positions:
        raise Unsupported("the model has no weights")
    used = []

    def index_of(variable):
        position = positions.get(id(variable))
        if position is None:
            raise Unsupported("a layer's weight is not among the model's weights")
        used.append(position)
        return position

    ops = tuple(op for op in (_layer_op(layer, index_of) for layer in model.layers) if op is not None)
    if sorted(used) != list(range(len(positions))):
        raise Unsupported("the model has weights the supported layers do not account for")
    return ops


# --------------------------------------------------------------------------------------------
# Optimizers: the update of keras/src/optimizers/{sgd,adam}.py, with one learning rate per trial
# and one momentum per trial (SGD's ``momentum``, Adam's ``beta_1``), passed in as ``hyper``:
# for SGD ``(momentum,)``, for Adam ``(beta_1, 1 - beta_1)``, each of shape [trials].


def _per_trial(values, like):
    """[trials] -> [trials, 1, ..., 1], to broadcast against a weight of the same rank as ``like``."""
    return tf.reshape(values, [-1] + [1] * (len(like.shape) - 1))


@dataclass(frozen=True)
class SGDRule:
    #: False when every trial's momentum is 0: plain SGD keeps no slot (as Keras does).
    uses_momentum: bool
    nesterov: bool
    hyper_names = ("momentum",)

    def slots(self, weight):
        return (tf.zeros_like(weight),) if self.uses_momentum else ()

    def update(self, weight, gradient, slots, learning_rate, step, hyper):
        if not self.uses_momentum:
            return weight - gradient * learning_rate, ()
        # A trial whose momentum is 0 gets exactly plain SGD here: 0 * v - g * lr == -(g * lr).
        (momentum,) = hyper
        velocity = slots[0] * momentum - gradient * learning_rate
        if self.nesterov:
            return weight + (velocity * momentum - gradient * learning_rate), (velocity,)
        return weight + velocity, (velocity,)


@dataclass(frozen=True)
class AdamRule:
    beta_2: float
    epsilon: float
    hyper_names = ("beta_1", "one_minus_beta_1")

    def slots(self, weight):
        return (tf.zeros_like(weight), tf.zeros_like(weight))

    def update(self, weight, gradient, slots, learning_rate, step, hyper):
        # Same operations and constants as Keras' Adam.update_step: ``1 - beta`` is computed in
        # float64 (a Python float there) and rounded to float32 once, in hyper_values.
        beta_1, one_minus_beta_1 = hyper
        momentum, velocity = slots
        local_step = tf.cast(step + 1, weight.dtype)
        beta_1_power = tf.pow(beta_1, local_step)
        beta_2_power = tf.pow(tf.cast(self.beta_2, weight.dtype), local_step)
        alpha = learning_rate * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        momentum = momentum + (gradient - momentum) * one_minus_beta_1
        velocity = velocity + (tf.square(gradient) - velocity) * (1 - self.beta_2)
        weight = weight - (momentum * alpha) / (tf.sqrt(velocity) + self.epsilon)
        return weight, (momentum, velocity)


def momentum_name(optimizer) -> str:
    """What "momentum" is called in ``optimizer``'s configuration: ``momentum`` or ``beta_1``.

    Raises :class:`ValueError` for an optimizer that has neither (a momentum axis means nothing there).
    """
    config = optimizer.get_config()
    for name in ("momentum", "beta_1"):
        if name in config:
            return name
    raise ValueError(
        f"momentum= needs an optimizer with a momentum (SGD's momentum, Adam's beta_1); "
        f"{type(optimizer).__name__} has neither."
    )


def model_momentum(optimizer) -> float:
    """The optimizer's own momentum (SGD) or ``beta_1`` (Adam and its kin); 0.0 if it has neither."""
    config = optimizer.get_config()
    for name in ("momentum", "beta_1"):
        if isinstance(config.get(name), int | float):
            return float(config[name])
    return 0.0


def _optimizer_rule(optimizer, momenta):
    kind = type(optimizer)
    if kind not in (keras.optimizers.SGD, keras.optimizers.Adam):
        raise Unsupported(f"the optimizer is {kind.__name__}; the trial axis supports SGD and Adam")
    for option in ("weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor"):
        if getattr(optimizer, option, None):
            raise Unsupported(f"the optimizer sets {option}={getattr(optimizer, option)!r}")
    if optimizer.use_ema or optimizer.gradient_accumulation_steps:
        raise Unsupported("the optimizer uses EMA or gradient accumulation")
    if kind is keras.optimizers.SGD:
        return SGDRule(any(value != 0 for value in momenta), bool(optimizer.nesterov))
    if optimizer.amsgrad:
        raise Unsupported("the optimizer is Adam with amsgrad=True")
    hyper = (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon)
    if not all(isinstance(value, int | float) for value in hyper):
        raise Unsupported("Adam's beta_1, beta_2 or epsilon is not a plain number")
    return AdamRule(float(optimizer.beta_2), float(optimizer.epsilon))


def hyper_values(rule, momenta) -> tuple:
    """The per-trial ``hyper`` tensors of ``rule`` for the momenta (or ``beta_1`` values) given, one per trial."""
    momenta = np.asarray(momenta, dtype=np.float64)
    if isinstance(rule, AdamRule):
        # Keras multiplies by the Python float ``1 - beta_1``: float64 arithmetic, then float32.
        return (tf.constant(momenta, tf.float32), tf.constant(1.0 - momenta, tf.float32))
    return (tf.constant(momenta, tf.float32),)


# --------------------------------------------------------------------------------------------
# Losses: Keras' own per-sample functions, applied to all trials at once.

# Functions that map each sample (last axis) to its loss independently of the other samples.
_PER_SAMPLE_LOSSES = {
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "log_cosh",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "poisson",
    "kl_divergence",
}
_REDUCTIONS = ("sum_over_batch_size", "mean", "sum")


@dataclass(frozen=True)
class LossRule:
    loss: keras.losses.Loss  # a LossFunctionWrapper around one of _PER_SAMPLE_LOSSES
    key: tuple  # what makes two rules equal for the compiled-function cache

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, LossRule) and self.key == other.key

    def per_trial(self, y_true, y_pred):
        """Loss of each trial on one batch: ``y_pred`` is [trials, batch, ...], ``y_true`` [batch, ...]."""
        trials = tf.shape(y_pred)[0]
        dtype = self.loss.dtype
        y_pred = tf.cast(y_pred, dtype)
        flat_pred = tf.reshape(y_pred, tf.concat([[-1], tf.shape(y_pred)[2:]], axis=0))
        y_true = tf.cast(y_true, dtype)
        repeats = tf.concat([[trials], tf.ones([tf.rank(y_true) - 1], tf.int32)], axis=0)
        flat_true = tf.tile(y_true, repeats)
        # y_true was [batch, ...]: tiling the first axis lines it up with [trials * batch, ...].
        values = self.loss.call(flat_true, flat_pred)
        if len(values.shape) < 1:
            raise Unsupported("the loss does not return one value per sample")
        values = tf.reshape(tf.cast(values, dtype), tf.stack([trials, -1]))
        total = tf.reduce_sum(values, axis=1)
        if self.loss.reduction == "sum":
            return total
        return tf.math.divide_no_nan(total, tf.cast(tf.shape(values)[1], dtype))


def _loss_rule(model):
    config = getattr(getattr(model, "_compile_config", None), "config", {}) or {}
    if config.get("loss_weights") is not None:
        raise Unsupported("the model was compiled with loss_weights")
    identifier = model.loss
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        raise Unsupported(f"the loss {identifier!r} is chosen from the data's shape")
    if isinstance(identifier, list | tuple | dict):
        raise Unsupported("the model has several losses")
    try:
        loss = keras.losses.get(identifier)
    except (ValueError, TypeError):
        raise Unsupported(f"the loss {identifier!r} is not a Keras loss") from None
    if not isinstance(loss, keras.losses.Loss):
        loss = LossFunctionWrapper(loss)
    if not isinstance(loss, LossFunctionWrapper):
        raise Unsupported(f"the loss {type(loss).__name__} is not a Keras loss function")
    function = loss.fn
    name = getattr(function, "__name__", "")
    if (
        not getattr(function, "__module__", "").startswith("keras.src.losses")
        or name not in _PER_SAMPLE_LOSSES
    ):
        raise Unsupported(f"the loss {name or function!r} is not one of {sorted(_PER_SAMPLE_LOSSES)}")
    if loss.reduction not in _REDUCTIONS:
        raise Unsupported(f"the loss's reduction {loss.reduction!r} is not one of {_REDUCTIONS}")
    if loss.dtype != "float32":
        raise Unsupported(f"the loss computes in {loss.dtype}, not float32")
    key = (name, loss.reduction, repr(sorted(loss._fn_kwargs.items())))
    return LossRule(loss, key)


# --------------------------------------------------------------------------------------------
# The plan and its compiled epoch.


@dataclass(frozen=True)
class Plan:
    """Everything the compiled epoch depends on; equal plans share one traced function."""

    layers: tuple
    rule: SGDRule | AdamRule
    loss: LossRule
    element_spec: tuple
    weight_shapes: tuple


def _check_pairs(spec, what):
    if not (isinstance(spec, tuple) and len(spec) == 2 and all(isinstance(s, tf.TensorSpec) for s in spec)):
        raise Unsupported(f"the {what}'s elements are not (features, labels) pairs of tensors")
    if not (spec[0].dtype.is_floating or spec[0].dtype.is_integer):
        raise Unsupported(f"the {what}'s features are {spec[0].dtype.name}, not numbers")


def make_plan(model, dataset, momenta) -> Plan:
    """Describe ``model`` (compiled) and ``dataset`` for the trial axis, or raise :class:`Unsupported`.

    ``momenta`` are the trials' momenta (or Adam's ``beta_1``): whether any is non-zero decides
    whether SGD keeps a slot. Both have passed :mod:`course_utils._training_inputs`; what is
    refused here is only what the trial axis cannot express (sample weights, ragged or nested
    features, ...).
    """
    spec = dataset.element_spec
    _check_pairs(spec, "data set")
    layers = _layer_ops(model)
    rule = _optimizer_rule(model.optimizer, momenta)
    loss = _loss_rule(model)
    shapes = tuple(tuple(weight.shape) for weight in model.weights)
    if any(weight.dtype != "float32" for weight in model.weights):
        raise Unsupported("the model has weights that are not float32")
    return Plan(layers, rule, loss, spec, shapes)


_COMPILED: dict[Plan, tf.types.experimental.PolymorphicFunction] = {}


def compiled_epoch(plan: Plan):
    """The traced one-epoch function for ``plan``, built once per plan (warm calls never retrace)."""
    function = _COMPILED.get(plan)
    if function is None:
        function = _build_epoch(plan)
        _COMPILED[plan] = function
    return function


def forget(plan: Plan) -> None:
    """Drop ``plan``'s compiled functions (tracing found something it cannot express)."""
    _COMPILED.pop(plan, None)
    for key in [key for key in _EVALUATIONS if key[0] == plan]:
        del _EVALUATIONS[key]


_EVALUATIONS: dict[tuple, tf.types.experimental.PolymorphicFunction] = {}


def compiled_evaluation(plan: Plan, dataset):
    """The traced function giving every trial's mean loss on ``dataset`` (as ``evaluate`` would), once per spec."""
    spec = dataset.element_spec
    _check_pairs(spec, "validation data")
    key = (plan, spec)
    function = _EVALUATIONS.get(key)
    if function is None:
        function = _build_evaluation(plan, spec)
        _EVALUATIONS[key] = function
    return function


def _forward(plan, weights, features):
    x, shared = tf.cast(features, tf.float32), True
    for op in plan.layers:
        x, shared = op(weights, x, shared)
    if shared:  # a model without weighted layers never reaches here (make_plan rejects it)
        raise Unsupported("the model's output does not depend on its weights")
    return x


def _build_evaluation(plan: Plan, spec):
    def evaluate(weights, dataset):
        total = tf.zeros(tf.shape(weights[0])[:1])
        count = tf.constant(0.0)
        # Keras' loss tracker again: batch losses weighted by batch size, summed in float32.
        for features, labels in dataset:
            losses = plan.loss.per_trial(labels, _forward(plan, weights, features))
            total += losses * tf.cast(tf.shape(features)[0], tf.float32)
            count += tf.cast(tf.shape(features)[0], tf.float32)
        return total / count

    trial_weights = tuple(tf.TensorSpec([None, *shape], tf.float32) for shape in plan.weight_shapes)
    signature = [trial_weights, tf.data.DatasetSpec(spec)]
    return tf.function(evaluate, input_signature=signature, reduce_retracing=False)


def _all_finite_per_trial(tensors, trials):
    finite = tf.ones([trials], tf.bool)
    for tensor in tensors:
        flat = tf.reshape(tensor, tf.stack([trials, -1]))
        finite = tf.logical_and(finite, tf.reduce_all(tf.math.is_finite(flat), axis=1))
    return finite


def _build_epoch(plan: Plan):
    rule, loss_rule = plan.rule, plan.loss

    def train_batch(weights, slots, alive, bad, step, total, count, learning_rates, hyper, features, labels):
        trials = tf.shape(learning_rates)[0]
        with tf.GradientTape() as tape:
            tape.watch(weights)
            losses = loss_rule.per_trial(labels, _forward(plan, weights, features))
            summed = tf.reduce_sum(losses)  # trial t's weights only reach loss t: its gradient is its own
        gradients = tape.gradient(summed, weights)
        new_weights, new_slots = [], []
        for weight, gradient, weight_slots in zip(weights, gradients, slots, strict=True):
            updated, updated_slots = rule.update(
                weight,
                gradient,
                weight_slots,
                _per_trial(learning_rates, weight),
                step,
                tuple(_per_trial(values, weight) for values in hyper),
            )
            new_weights.append(updated)
            new_slots.append(updated_slots)
        flat_slots = [slot for group in new_slots for slot in group]
        finite_loss = tf.math.is_finite(losses)
        finite_state = _all_finite_per_trial(new_weights + flat_slots, trials)
        keep = tf.logical_and(alive, tf.logical_and(finite_loss, finite_state))
        # A trial dies at its first non-finite loss or state: it keeps its last finite weights,
        # records the bad value, and no longer counts (the others are untouched: slices are apart).
        just_died = tf.logical_and(alive, tf.logical_not(keep))
        bad = tf.where(just_died, tf.where(finite_loss, tf.constant(float("nan")), losses), bad)

        def choose(new, old):
            return tf.where(_per_trial(keep, new), new, old)

        weights = tuple(choose(new, old) for new, old in zip(new_weights, weights, strict=True))
        slots = tuple(
            tuple(choose(new, old) for new, old in zip(group_new, group_old, strict=True))
            for group_new, group_old in zip(new_slots, slots, strict=True)
        )
        # Keras' loss tracker: a mean over batches weighted by batch size, in float32.
        size = tf.cast(tf.shape(features)[0], tf.float32)
        total = total + tf.where(keep, losses * size, tf.zeros_like(losses))
        return weights, slots, keep, bad, step + 1, total, count + size

    def epoch(weights, slots, alive, bad, step, learning_rates, hyper, dataset):
        iterator = iter(dataset)
        total = tf.zeros_like(learning_rates)
        count = tf.constant(0.0)

        def has_batch(optional, *state):
            return optional.has_value()

        def body(optional, weights, slots, alive, bad, step, total, count):
            features, labels = optional.get_value()
            state = train_batch(
                weights, slots, alive, bad, step, total, count, learning_rates, hyper, features, labels
            )
            return (iterator.get_next_as_optional(), *state)

        state = (iterator.get_next_as_optional(), weights, slots, alive, bad, step, total, count)
        _, weights, slots, alive, bad, step, total, count = tf.while_loop(has_batch, body, state)
        return weights, slots, alive, bad, step, total, count

    trial_weights = tuple(tf.TensorSpec([None, *shape], tf.float32) for shape in plan.weight_shapes)
    zero = tuple(tf.zeros(shape) for shape in plan.weight_shapes)
    trial_slots = tuple(
        tuple(tf.TensorSpec([None, *slot.shape], tf.float32) for slot in rule.slots(weight))
        for weight in zero
    )
    signature = [
        trial_weights,
        trial_slots,
        tf.TensorSpec([None], tf.bool),
        tf.TensorSpec([None], tf.float32),
        tf.TensorSpec([], tf.int64),
        tf.TensorSpec([None], tf.float32),
        tuple(tf.TensorSpec([None], tf.float32) for _ in range(len(rule.hyper_names))),
        tf.data.DatasetSpec(plan.element_spec),
    ]
    return tf.function(epoch, input_signature=signature, autograph=False, reduce_retracing=False)
