"""course_utils.widgets.fixed_rate_explorer: the explorer trains at the slider's rate and draws the run.

No browser: setting ``slider.value`` runs the same callback a student's drag does. The training
itself is course_utils.fixed_rate's (tests/test_fixed_rate.py).
"""

import math

import ipywidgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils import widgets  # noqa: E402

from support.widgets import shown_png, stderr_and_warnings  # noqa: E402

EPOCHS = 3


@pytest.fixture(scope="module")
def fixed(small_split):
    """One explorer on a small slice of the series, moved once to a rate that diverges (quietly?)."""
    figures_before = plt.get_fignums()
    with stderr_and_warnings() as report:
        explorer = widgets.fixed_rate_explorer(
            small_split, epochs=EPOCHS, lr_range=(1e-8, 1e-1), value=1e-6, seed=3
        )
        start = {"text": explorer.text.value, "png": shown_png(explorer), "run": explorer.last_run}
        explorer.slider.value = 1e-1
        diverged = {
            "text": explorer.text.value,
            "png": shown_png(explorer),
            "run": explorer.last_run,
            "title": explorer.axes.get_title(),
        }
    return explorer, start, diverged, report, figures_before


pytestmark_training = pytest.mark.xdist_group("fixed_rate_explorer")


@pytestmark_training
def test_fixed_rate_explorer_trains_at_the_slider_rate(fixed):
    explorer, start, _, _, _ = fixed
    assert isinstance(explorer.slider, ipywidgets.FloatLogSlider)
    assert explorer.slider.continuous_update is False
    run = start["run"]
    assert run.lr == pytest.approx(1e-6)
    assert run.status in {"trained", "no progress"}
    assert run.epochs_run == EPOCHS
    assert np.isfinite(run.history["loss"]).all()
    assert math.isfinite(run.valid_mae) and run.valid_mae > 0
    assert "1.00e-06" in start["text"] and f"{run.final_loss:.4g}" in start["text"]


@pytestmark_training
def test_fixed_rate_explorer_shows_a_diverged_run_as_diverged(fixed):
    _, start, diverged, _, _ = fixed
    run = diverged["run"]
    assert run.lr == pytest.approx(1e-1)
    assert run.status == "diverged"
    assert run.epochs_run < EPOCHS  # stopped early instead of training on NaN
    assert "diverged" in diverged["text"]
    assert diverged["text"] != start["text"]
    assert diverged["png"] != start["png"]
    assert "DIVERGED" in diverged["title"]


@pytestmark_training
def test_fixed_rate_explorer_was_quiet_and_left_no_pyplot_figures(fixed):
    _, _, _, report, figures_before = fixed
    assert report["stderr"] == ""
    assert report["warnings"] == []
    assert plt.get_fignums() == figures_before


@pytestmark_training
def test_fixed_rate_explorer_caches_runs_per_rate(fixed):
    explorer, start, _, _, _ = fixed
    trainings = explorer.trainings
    explorer.slider.value = 1e-6
    assert explorer.trainings == trainings  # moving back did not train again
    assert explorer.last_run is start["run"]
    assert explorer.text.value == start["text"]
    current = [line for line in explorer.axes.get_lines() if line.get_label().startswith("lr ")]
    (line,) = current
    np.testing.assert_allclose(line.get_ydata(), start["run"].history["loss"])
    assert any(line.get_label().startswith("earlier: lr 1.0e-01") for line in explorer.axes.get_lines())


def test_fixed_rate_explorer_rejects_bad_input_naming_it():
    with pytest.raises(TypeError, match="dataset.*list"):
        widgets.fixed_rate_explorer([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="epochs"):
        widgets.fixed_rate_explorer(None, epochs=0)
    with pytest.raises(ValueError, match="value"):
        widgets.fixed_rate_explorer(None, lr_range=(1e-6, 1e-3), value=1.0)
    with pytest.raises(ValueError, match="lr_range"):
        widgets.fixed_rate_explorer(None, lr_range=(1e-3, 1e-6))
