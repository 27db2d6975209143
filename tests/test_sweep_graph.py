"""The per-batch sweep's graph: traced once per model, dropped with it; the rate variable it sets."""

from __future__ import annotations

import gc
import weakref

import keras

from course_utils import _sweep_graph
from course_utils.range_test import lr_range_test

from support.keras_models import small_data, small_model


def test_second_call_reuses_the_traced_sweep_and_recompile_retraces():
    model = small_model()
    lr_range_test(model, small_data(), start_lr=1e-4, end_lr=1e-2, num_rates=9)
    function = _sweep_graph._SWEEP_GRAPHS[model].function
    assert function.experimental_get_tracing_count() == 1
    lr_range_test(model, small_data(), start_lr=1e-5, end_lr=1e-1, num_rates=31, progress=True)
    assert _sweep_graph._SWEEP_GRAPHS[model].function is function
    assert function.experimental_get_tracing_count() == 1
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
    lr_range_test(model, small_data(), start_lr=1e-4, end_lr=1e-2, num_rates=9)
    assert _sweep_graph._SWEEP_GRAPHS[model].function is not function


def test_the_cache_does_not_keep_models_alive():
    model = small_model()
    lr_range_test(model, small_data(), start_lr=1e-4, end_lr=1e-2, num_rates=5)
    reference = weakref.ref(model)
    del model
    gc.collect()
    assert reference() is None


def test_optimizer_with_a_schedule_keeps_its_schedule():
    """A sweep needs a rate variable: a schedule gets a stand-in, and is given back afterwards."""
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.5)
    model = small_model(keras.optimizers.SGD(schedule, momentum=0.9))
    result = lr_range_test(model, small_data(), start_lr=1e-4, end_lr=1e-2, num_rates=8, diverge_factor=None)
    assert len(result.losses) == 8
    assert model.optimizer._learning_rate is schedule
    model.fit(small_data(), epochs=1, verbose=0)  # still trains with its schedule
