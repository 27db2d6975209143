"""Helpers for the course "Choosing a learning rate" (TensorFlow/Keras, nbgrader).

Notebooks teach, this package does the work: data, models, schedules, the range test,
suggestions, plots, widgets and ``course lr-find``. It is the student library: the only package
in the student bundle. The instructors' and mentors' tooling (release, grading, links, the rest
of the ``course`` command) is the separate package ``course_tools``, which this one never imports.
Names are loaded on first use, so the command line starts without importing TensorFlow.
"""

from importlib import import_module

from course_utils import _quiet  # noqa: F401  (sets TensorFlow's log level before it loads)

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "synthetic_series": "data",
    "train_valid_split": "data",
    "windowed_dataset": "data",
    "sunspots_series": "data",
    "forecast": "data",
    "forecast_mae": "data",
    "build_dense_model": "models",
    "build_recurrent_model": "models",
    "compile_model": "models",
    "fresh_copy": "models",
    "sgd": "models",
    "sweep_schedule": "schedules",
    "sweep_rates": "schedules",
    "ExponentialSweep": "schedules",
    "OneCycle": "schedules",
    "decay_schedule": "schedules",
    "schedule_values": "schedules",
    "lr_range_test": "range_test",
    "RangeTestResult": "range_test",
    "run_independent_trials": "trials",
    "TrialsOutcome": "trials",
    "suggest_lr": "suggest",
    "SUGGESTION_METHODS": "suggest",
    "OTHER_FINDERS": "other_finders",
    "plot_series": "plots",
    "plot_history": "plots",
    "plot_sweep": "plots",
    "plot_schedules": "plots",
    "plot_seed_band": "plots",
    "plot_trial_grid": "plots",
    "sweep_explorer": "widgets",
    "fixed_rate_explorer": "widgets",
    "decay_explorer": "widgets",
    "usable_range": "suggest",
    "smooth_losses": "suggest",
    "epochs_to_reach": "convergence",
    "convergence_table": "convergence",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(import_module(f"course_utils.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'course_utils' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
