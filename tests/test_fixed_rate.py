"""course_utils.fixed_rate: one compiled model, reset before each run, trains like a fresh one."""

import math

import numpy as np
import pytest

from course_utils import build_dense_model, compile_model, windowed_dataset
from course_utils.fixed_rate import fixed_rate_trainer

EPOCHS = 3


@pytest.fixture(scope="module")
def trainer(small_split):
    return fixed_rate_trainer(small_split, epochs=EPOCHS, seed=3)


def test_a_run_equals_a_freshly_built_model_trained_at_that_rate(trainer, small_split):
    trainer.train(1e-4)  # a run before must leave nothing behind (weights, momentum, step count)
    run = trainer.train(3e-6)
    model = compile_model(build_dense_model(seed=3), 3e-6)
    history = model.fit(windowed_dataset(small_split.train, seed=3), epochs=EPOCHS, shuffle=False, verbose=0)
    np.testing.assert_allclose(run.history["loss"], history.history["loss"], rtol=1e-4)
    assert run.status == "trained" and run.epochs_run == EPOCHS
    assert math.isfinite(run.valid_mae) and run.valid_mae > 0


def test_a_diverging_run_stops_early_and_says_so(trainer):
    run = trainer.train(1e-1)
    assert run.status == "diverged"
    assert run.epochs_run < EPOCHS
    assert math.isnan(run.valid_mae)


def test_bad_input_names_the_argument(small_split):
    with pytest.raises(ValueError, match="untrained_loss_factor"):
        fixed_rate_trainer(small_split, untrained_loss_factor=0.0)
    with pytest.raises(TypeError, match="dataset"):
        fixed_rate_trainer([1.0, 2.0])
    with pytest.raises(TypeError, match="build_model"):
        fixed_rate_trainer(small_split, build_model="dense")
