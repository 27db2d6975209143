"""course_utils.defaults: the range test's choices and defaults, importable without TensorFlow."""

from __future__ import annotations

import pytest

from course_utils import defaults
from course_utils.schedules import sweep_rates

from support.imports import heavy_modules_loaded_by


def test_the_lesson_constants_are_the_lessons_sweep():
    rates = sweep_rates(
        defaults.LESSON_NUM_EPOCHS, defaults.LESSON_START_LR, defaults.LESSON_EPOCHS_PER_DECADE
    )
    assert rates[0] == 1e-8 and rates[-1] == pytest.approx(defaults.LESSON_END_LR)
    assert defaults.BATCH_NUM_RATES / 6 == 200  # 1e-8 .. 1e-2: six decades, 200 rates each


def test_importing_the_defaults_loads_nothing_heavy():
    assert heavy_modules_loaded_by("import course_utils.defaults") == []
