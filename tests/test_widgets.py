"""Tests for course_utils.widgets: build each explorer, move its slider, read what the update produced.

No browser: setting ``slider.value`` runs the same callback a student's drag does.
"""

import base64
import contextlib
import importlib
import io
import math
import os
import sys
import tempfile
import warnings

import ipywidgets
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import course_utils._quiet  # noqa: E402
from course_utils import plots, widgets  # noqa: E402
from course_utils.suggest import smooth_losses, usable_range  # noqa: E402

from support import sweeps  # noqa: E402


def _visible_in_a_notebook(warning) -> bool:
    """Deprecations from other libraries are hidden in notebooks; everything else is shown."""
    if issubclass(warning.category, DeprecationWarning | PendingDeprecationWarning):
        return "course_utils" in warning.filename
    return True


@contextlib.contextmanager
def stderr_and_warnings():
    """Collect everything written to stderr (Python and C level) and every warning a student would see.

    Warnings are recorded every time, not once per place, so the result does not depend on which
    test ran first. The package's own warning rules (course_utils._quiet, applied at import in a
    notebook) are applied again here: pytest drops filters set while it collects tests.
    """
    report = {"stderr": "", "warnings": []}
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        python_level = io.StringIO()
        try:
            with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(python_level):
                warnings.simplefilter("always")
                importlib.reload(course_utils._quiet)
                yield report
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            sink.seek(0)
            report["stderr"] = python_level.getvalue() + sink.read().decode(errors="replace")
            report["warnings"] = [
                f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                for w in caught
                if _visible_in_a_notebook(w)
            ]


def shown_png(explorer) -> bytes:
    """The PNG the Output widget currently holds (what the notebook page shows)."""
    (output,) = explorer.panel.output.outputs
    return base64.b64decode(output["data"]["image/png"])


def lesson_like_sweep(num=100, diverge_at=90):
    return sweeps.lesson_like_sweep(num, diverge_at, seed=1)


def the_marker(explorer):
    (marker,) = [line for line in explorer.axes.get_lines() if line.get_label() == "chosen rate"]
    return marker


# ---------------------------------------------------------------- sweep_explorer


def test_sweep_explorer_marker_and_text_follow_the_slider():
    lrs, losses = lesson_like_sweep()
    explorer = widgets.sweep_explorer(lrs, losses)
    assert isinstance(explorer.slider, ipywidgets.FloatLogSlider)
    assert explorer.slider in explorer.widget.children
    assert explorer.panel.output in explorer.widget.children
    first_text, first_png = explorer.text.value, shown_png(explorer)

    explorer.slider.value = 2e-6
    marker = the_marker(explorer)
    assert marker.get_xdata()[0] == pytest.approx(explorer.slider.value)
    assert marker.get_ydata()[0] == pytest.approx(plots.loss_at(lrs, losses, explorer.slider.value))
    assert explorer.last_value == pytest.approx(2e-6)
    assert explorer.last_loss == pytest.approx(plots.loss_at(lrs, losses, 2e-6))
    assert "2.00e-06" in explorer.text.value
    assert f"{explorer.last_loss:.4g}" in explorer.text.value
    assert explorer.text.value != first_text
    assert shown_png(explorer) != first_png


def test_sweep_explorer_draws_on_a_log_axis_and_shades_usable_range():
    lrs, losses = lesson_like_sweep()
    explorer = widgets.sweep_explorer(lrs, losses)
    assert explorer.axes.get_xscale() == "log"
    low, high = usable_range(lrs, losses)
    assert explorer.usable == (low, high)
    (span,) = [patch for patch in explorer.axes.patches if patch.get_label() == plots.USABLE_LABEL]
    corners = span.get_path().transformed(span.get_patch_transform()).vertices[:, 0]
    assert corners.min() == pytest.approx(low)
    assert corners.max() == pytest.approx(high)


def test_sweep_explorer_says_where_the_rate_lies():
    lrs, losses = lesson_like_sweep(diverge_at=90)
    explorer = widgets.sweep_explorer(lrs, losses)
    low, high = explorer.usable
    explorer.slider.value = math.sqrt(low * high)
    assert explorer.last_position == "inside"
    assert "inside the usable range" in explorer.text.value
    explorer.slider.value = low / 10
    assert explorer.last_position == "below"
    explorer.slider.value = lrs[95]  # past the last finite loss
    assert explorer.last_position == "diverged"
    assert math.isnan(explorer.last_loss)
    assert "diverged" in explorer.text.value
    # The marker still stands at the chosen rate, without a point to show.
    assert the_marker(explorer).get_xdata()[0] == pytest.approx(lrs[95])


def test_sweep_explorer_pins_a_marker_above_the_frame_to_the_top():
    lrs, losses = lesson_like_sweep()
    losses[:8] = np.geomspace(5000, 100, 8)  # an untrained first few epochs, far above the rest
    explorer = widgets.sweep_explorer(lrs, losses, value=lrs[1])
    top = explorer.axes.get_ylim()[1]
    assert explorer.last_loss > top
    marker = the_marker(explorer)
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (pytest.approx(lrs[1]), top)
    assert marker.get_marker() == "^"
    explorer.slider.value = 1e-6
    assert the_marker(explorer).get_marker() == "o"


def test_sweep_explorer_puts_the_marker_on_the_smoothed_curve():
    lrs, losses = lesson_like_sweep(diverge_at=100)
    smoothed = smooth_losses(losses, beta=0.9)
    explorer = widgets.sweep_explorer(lrs, losses, smoothed=smoothed, value=1e-6)
    assert explorer.slider.value == pytest.approx(1e-6)
    assert the_marker(explorer).get_ydata()[0] == pytest.approx(plots.loss_at(lrs, smoothed, 1e-6))
    assert "smoothed loss" in explorer.text.value


def test_sweep_explorer_is_quiet_and_leaves_no_pyplot_figures():
    lrs, losses = lesson_like_sweep()
    figures_before = plt.get_fignums()
    with stderr_and_warnings() as report:
        explorer = widgets.sweep_explorer(lrs, losses)
        for value in (1e-7, 1e-6, 1e-5, 1e-4, lrs[-1]):
            explorer.slider.value = value
    assert report["stderr"] == ""
    assert report["warnings"] == []
    assert plt.get_fignums() == figures_before
    assert explorer.panel.renders == 6


def test_sweep_explorer_rejects_bad_input_naming_it():
    with pytest.raises(ValueError, match="lrs must increase"):
        widgets.sweep_explorer([1e-3, 1e-4, 1e-5], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="smoothed"):
        widgets.sweep_explorer([1e-5, 1e-4, 1e-3], [1.0, 2.0, 3.0], smoothed=[1.0])
    with pytest.raises(ValueError, match="value"):
        widgets.sweep_explorer([1e-5, 1e-4, 1e-3], [1.0, 2.0, 3.0], value=-1.0)


# ---------------------------------------------------------------- decay_explorer


def test_decay_explorer_redraws_every_kind_from_the_slider_rate():
    explorer = widgets.decay_explorer(1e-4, 200)
    assert isinstance(explorer.slider, ipywidgets.FloatLogSlider)
    first_text, first_png = explorer.text.value, shown_png(explorer)

    explorer.slider.value = 1e-3
    lines = {line.get_label(): line for line in explorer.axes.get_lines()}
    assert {"exponential", "cosine", "one_cycle"} <= set(lines)
    assert set(explorer.curves) == {"exponential", "cosine", "one_cycle"}
    # Exponential and cosine decay start at the chosen rate; one-cycle peaks at it.
    assert lines["exponential"].get_ydata()[0] == pytest.approx(1e-3, rel=1e-5)
    assert lines["cosine"].get_ydata()[0] == pytest.approx(1e-3, rel=1e-5)
    assert np.nanmax(lines["one_cycle"].get_ydata()) == pytest.approx(1e-3, rel=1e-3)
    assert len(lines["exponential"].get_xdata()) == 200
    assert explorer.axes.get_yscale() == "log"
    assert explorer.last_value == pytest.approx(1e-3)
    assert "1.00e-03" in explorer.text.value and explorer.text.value != first_text
    assert shown_png(explorer) != first_png


def test_decay_explorer_menu_shows_one_kind():
    explorer = widgets.decay_explorer(1e-4, 100)
    explorer.kind.value = "cosine"
    kinds_drawn = [
        line.get_label() for line in explorer.axes.get_lines() if not line.get_label().startswith("chosen")
    ]
    assert kinds_drawn == ["cosine"]
    assert explorer.last_kind == "cosine"
    assert "exponential" not in explorer.text.value


def test_decay_explorer_is_quiet_and_leaves_no_pyplot_figures():
    figures_before = plt.get_fignums()
    with stderr_and_warnings() as report:
        explorer = widgets.decay_explorer(1e-5, 50, kinds=("constant", "cosine"))
        explorer.slider.value = 1e-4
        explorer.kind.value = "constant"
    assert report["stderr"] == ""
    assert report["warnings"] == []
    assert plt.get_fignums() == figures_before


def test_decay_explorer_rejects_bad_input_naming_it():
    with pytest.raises(ValueError, match="kinds.*'linear'"):
        widgets.decay_explorer(1e-4, 100, kinds=("linear",))
    with pytest.raises(ValueError, match="initial_lr"):
        widgets.decay_explorer(0.0, 100)
    with pytest.raises(ValueError, match="total_steps"):
        widgets.decay_explorer(1e-4, 1)


# ---------------------------------------------------------------- fixed_rate_explorer (trains)

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
