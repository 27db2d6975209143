"""Convergence numbers: epochs to reach a loss, and the table notebooks 4 and 6 print."""

import math

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils.convergence import convergence_table, epochs_to_reach


def test_epochs_to_reach_counts_from_one_and_includes_equality():
    assert epochs_to_reach([100.0, 60.0, 50.0, 40.0], 50.0) == 3
    assert epochs_to_reach([10.0, 60.0], 50.0) == 1


def test_epochs_to_reach_is_none_when_never_reached_or_diverged():
    assert epochs_to_reach([100.0, 90.0], 50.0) is None
    assert epochs_to_reach([100.0, math.nan, math.inf, -math.inf], 50.0) is None


def test_epochs_to_reach_skips_nan_before_the_first_good_epoch():
    assert epochs_to_reach([math.nan, 80.0, 40.0], 50.0) == 3


def test_epochs_to_reach_reads_a_keras_history():
    history = keras.callbacks.History()
    history.history = {"loss": [9.0, 4.0, 1.0]}
    assert epochs_to_reach(history, 4.0) == 2


@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30), st.floats(-1e6, 1e6)
)
def test_epochs_to_reach_agrees_with_a_plain_loop(losses, threshold):
    expected = next(
        (epoch for epoch, loss in enumerate(losses, 1) if math.isfinite(loss) and loss <= threshold), None
    )
    assert epochs_to_reach(losses, threshold) == expected


@pytest.mark.parametrize(
    ("losses", "threshold", "error"),
    [
        ([], 1.0, ValueError),
        ("abc", 1.0, TypeError),
        ([[1.0, 2.0]], 1.0, ValueError),
        ([1.0], "1", TypeError),
    ],
)
def test_epochs_to_reach_rejects_bad_input(losses, threshold, error):
    with pytest.raises(error):
        epochs_to_reach(losses, threshold)


def test_convergence_table_shows_losses_at_epochs_and_epochs_to_threshold():
    table = convergence_table({"chosen": [500.0, 80.0, 45.0], "guess": [900.0, 120.0]}, (1, 3), threshold=50)
    header, chosen, guess = table.splitlines()
    assert "epoch 1" in header and "epoch 3" in header and "loss <= 50" in header
    assert chosen.split() == ["chosen", "500", "45", "3"]
    assert guess.split() == ["guess", "900", "-", "never"]


def test_convergence_table_without_threshold_has_no_last_column():
    table = convergence_table({"run": np.array([3.0, 2.0])}, epochs=2)
    assert table.splitlines()[1].split() == ["run", "2"]
    assert "loss <=" not in table


@pytest.mark.parametrize(
    ("runs", "epochs", "error"),
    [
        ({}, (1,), TypeError),
        ([1.0], (1,), TypeError),
        ({"a": [1.0]}, (), ValueError),
        ({"a": [1.0]}, (0,), ValueError),
    ],
)
def test_convergence_table_rejects_bad_input(runs, epochs, error):
    with pytest.raises(error):
        convergence_table(runs, epochs)
