"""course_utils.exercise: helpers switched off while a test runs student code, messages that teach."""

from __future__ import annotations

import numpy as np
import pytest

import course_utils
from course_utils import data, suggest
from course_utils.exercise import ShortcutError, explain, own_work, same, short
from course_utils.range_test import RangeTestResult

LRS = np.geomspace(1e-6, 1e-1, 60)
LOSSES = np.concatenate([np.linspace(10.0, 1.0, 45), np.geomspace(1.2, 50.0, 15)])


def test_every_way_of_reaching_a_helper_is_switched_off():
    alias = suggest.suggest_lr
    with own_work() as block:
        assert block.switched_off > 50
        for call in (
            lambda: course_utils.suggest_lr(LRS, LOSSES),
            lambda: suggest.suggest_lr(LRS, LOSSES),
            lambda: alias(LRS, LOSSES),
            lambda: suggest.usable_range(LRS, LOSSES),
            lambda: data.make_windows(np.arange(30.0), window_size=5),
        ):
            with pytest.raises(ShortcutError, match="write this yourself: course_utils"):
                call()


def test_methods_and_private_functions_are_switched_off_too():
    result = RangeTestResult.__new__(RangeTestResult)
    with own_work(), pytest.raises(ShortcutError, match="RangeTestResult.suggest"):
        result.suggest()
    private = [name for name in vars(suggest) if name.startswith("_") and callable(getattr(suggest, name))]
    function = next(getattr(suggest, name) for name in private if hasattr(getattr(suggest, name), "__code__"))
    with own_work(), pytest.raises(ShortcutError):
        function()


def test_everything_is_back_after_the_block_even_when_it_fails():
    expected = suggest.suggest_lr(LRS, LOSSES)
    with pytest.raises(ZeroDivisionError), own_work():
        raise ZeroDivisionError("the student's code failed")
    assert suggest.suggest_lr(LRS, LOSSES) == expected
    with pytest.raises(ShortcutError), own_work():
        suggest.suggest_lr(LRS, LOSSES)
    assert suggest.suggest_lr(LRS, LOSSES) == expected


def test_allowed_helpers_work_and_their_own_calls_too():
    with own_work(allow=["build_dense_model", "compile_model"]):
        from course_utils.models import build_dense_model, compile_model

        model = compile_model(build_dense_model(window_size=5), lr=1e-3)
        assert model.count_params() == 5 * 10 + 10 + 110 + 11
        with pytest.raises(ShortcutError):
            course_utils.windowed_dataset(np.arange(50.0), window_size=5)


def test_allow_must_be_a_list_of_names():
    with pytest.raises(TypeError, match="allow must be a list"):
        own_work(allow="build_dense_model")


def test_messages_name_the_concept_then_expected_and_received():
    message = explain(
        "Geometric spacing", "the rate grows by one factor.", expected=np.geomspace(1, 10, 20), got=[1, 2]
    )
    assert message.startswith("Geometric spacing: the rate grows by one factor.")
    assert "Expected ndarray of 20 [1, 1.129, ..., 10], got list [1, 2]." in message
    assert explain("NaN tail", "drop it.") == "NaN tail: drop it."
    assert short(0.000123456) == "0.0001235"


def test_same_compares_shape_and_values_and_never_raises():
    assert same([1.0, np.nan], np.array([1.0, np.nan]))
    assert not same([1.0, 2.0], [1.0, 2.0, 3.0])
    assert not same("not numbers", [1.0])
    assert not same(np.ones((3, 1)), np.ones(3))


def test_a_course_module_cannot_be_loaded_anew_inside_the_block():
    import importlib
    import sys

    with own_work():
        with pytest.raises(ShortcutError, match="reload"):
            importlib.reload(data)
        saved = sys.modules.pop("course_utils.data")
        try:
            with pytest.raises(ShortcutError, match="loading course_utils.data anew"):
                importlib.import_module("course_utils.data")
        finally:
            sys.modules["course_utils.data"] = saved
    assert importlib.reload is not None and importlib.reload.__name__ == "reload"
    assert not any(type(finder).__name__ == "_NoFreshCopies" for finder in sys.meta_path)
