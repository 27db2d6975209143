"""One compiled model, put back to a fresh start in place: a fair loop of trials without rebuilding.

A loop of independent trials needs every trial to start from the same weights with a new optimizer.
Building and compiling a new model per trial gives that, and Keras traces every new model's training
step again, which costs more than a small model's epoch. :func:`fresh_start` keeps one compiled model
instead and resets it between trials: the given weights, and the optimizer's state back to zero (its
step count and its slots: SGD's momentum, Adam's two moments), its settings (the learning rate) kept.
Training it next gives what training a new copy started from those weights would give, with the same
traced step. Notebook 5 times such a loop; its exercise asks students to write this themselves.
"""

from __future__ import annotations

import numpy as np

from course_utils._training_inputs import check_compiled_model


def fresh_start(model, weights) -> None:
    """Reset the compiled ``model`` in place: ``weights``, and its optimizer's state zeroed.

    ``weights`` is a list as from ``model.get_weights()``. The optimizer stays the same object with
    the same learning rate (a loop sets each trial's rate itself); its step count and every slot are
    set to zero, as in a new optimizer. Returns None.
    """
    check_compiled_model(model, needs_weights=True)
    expected = [tuple(variable.shape) for variable in model.weights]
    received = [tuple(np.shape(value)) for value in weights]
    if received != expected:
        raise ValueError(f"weights must match the model's shapes {expected}; got shapes {received}.")
    model.set_weights(weights)
    for variable in model.optimizer.variables:
        if variable.path.endswith("learning_rate"):
            continue  # a setting, not state
        variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
