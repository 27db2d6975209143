"""Tests for course_utils.suggest: smoothing, the suggestion rules, the usable range, bad input.

No training here: curves are made with NumPy (a textbook sweep shape) or drawn by hypothesis,
plus one check against the stored evaluation set in benchmarks/suggestion_eval.
"""

import importlib.util
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_utils.suggest import (
    DIAGNOSTIC_CODES,
    SUGGESTION_METHODS,
    Diagnostic,
    diagnose_sweep,
    smooth_losses,
    suggest_lr,
    usable_range,
)

from support.sweeps import result_of

ROOT = Path(__file__).resolve().parents[1]


def textbook_curve(num=100, start=1e-8, end=1e-3, noise=0.0, seed=0, nan_tail=0):
    """A sweep as the lesson draws it: flat, a steady fall, the bottom, then a blow-up.

    The fall is centred on 1e-6, the bottom is near 1e-5 and the loss blows up past 3e-5.
    """
    lrs = np.geomspace(start, end, num)
    position = np.log10(lrs)
    fall = 50.0 / (1 + np.exp(-(position + 6) * 3))
    blow_up = np.where(position > -4.5, 10 ** ((position + 4.5) * 4) - 1, 0.0)
    losses = 60.0 - fall + blow_up
    losses *= np.exp(np.random.default_rng(seed).normal(scale=noise, size=num))
    if nan_tail:
        losses[-nan_tail:] = np.nan
    return lrs, losses


# ----------------------------------------------------------------------------- smooth_losses


def test_smooth_losses_matches_the_debiased_recurrence():
    losses = np.array([4.0, 2.0, 3.0, 7.0, 1.0])
    beta = 0.9
    expected, average = [], 0.0
    for count, value in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * value
        expected.append(average / (1 - beta**count))
    np.testing.assert_allclose(smooth_losses(losses, beta=beta), expected)


def test_smooth_losses_keeps_a_constant_curve_and_beta_zero_is_identity():
    np.testing.assert_allclose(smooth_losses(np.full(50, 3.5)), 3.5)
    values = np.array([5.0, 1.0, 9.0])
    np.testing.assert_allclose(smooth_losses(values, beta=0.0), values)


def test_smooth_losses_skips_non_finite_values_and_marks_them_nan():
    smoothed = smooth_losses([1.0, np.nan, 3.0, np.inf, 5.0], beta=0.5)
    assert np.isnan(smoothed[1]) and np.isnan(smoothed[3])
    # the NaN and inf are left out of the average: same as smoothing [1, 3, 5]
    np.testing.assert_allclose(smoothed[[0, 2, 4]], smooth_losses([1.0, 3.0, 5.0], beta=0.5))


def test_smooth_losses_lags_behind_a_step():
    """Why suggest_lr does not read the EMA: a one-sided average moves features to the right."""
    losses = np.r_[np.full(20, 10.0), np.full(20, 1.0)]
    smoothed = smooth_losses(losses, beta=0.9)
    assert smoothed[20] > 5.0  # the raw curve has already dropped to 1 here


@pytest.mark.parametrize("beta", [-0.1, 1.0, 2.0, float("nan")])
def test_smooth_losses_rejects_bad_beta(beta):
    with pytest.raises(ValueError, match="beta"):
        smooth_losses([1.0, 2.0], beta=beta)


def test_smooth_losses_rejects_non_numbers():
    with pytest.raises(TypeError, match="losses"):
        smooth_losses("1, 2, 3")
    with pytest.raises(TypeError, match="beta"):
        smooth_losses([1.0, 2.0], beta="0.9")


# ----------------------------------------------------------------------------- suggest_lr


def test_methods_are_listed_with_valley_first():
    assert SUGGESTION_METHODS[0] == "valley"
    assert {"valley", "steepest", "minimum"} <= set(SUGGESTION_METHODS)


@pytest.mark.parametrize("method", SUGGESTION_METHODS)
def test_every_method_returns_a_rate_from_the_sweep_range(method):
    lrs, losses = textbook_curve()
    lr = suggest_lr(lrs, losses, method=method)
    assert isinstance(lr, float)
    assert lrs[0] <= lr <= lrs[-1]


def test_valley_lies_below_the_blow_up_and_above_the_flat_start():
    lrs, losses = textbook_curve(noise=0.05)
    lr = suggest_lr(lrs, losses)
    assert 3e-7 < lr < 3e-5, lr


def test_on_a_noisy_curve_the_valley_steps_back_the_sweeps_reaction_then_divides():
    """Single-batch losses: the bottom is read 14 steps late (a too-high rate takes some steps to
    show in the loss), so the valley goes back 14 of the sweep's steps from it, then divides by 2.5."""
    for num in (400, 60):  # 80 and 12 steps per decade
        lrs, losses = textbook_curve(num=num, noise=0.3, seed=3)  # single-batch losses: noisy
        step = np.log10(lrs[1] / lrs[0])
        bottom = suggest_lr(lrs, losses, method="minimum", divisor=1)
        back = 10 ** (14 * step)
        low, _ = usable_range(lrs, losses)
        assert suggest_lr(lrs, losses) == pytest.approx(max(bottom / back / 2.5, low), rel=1e-9), num
        assert suggest_lr(lrs, losses, divisor=2) == pytest.approx(max(bottom / back / 2, low), rel=1e-9)
        assert suggest_lr(lrs, losses, method="minimum") == pytest.approx(bottom / 10)
    dense, coarse = (textbook_curve(num=num, noise=0.3, seed=3) for num in (400, 60))
    below = [
        suggest_lr(*curve, method="minimum", divisor=1) / suggest_lr(*curve) for curve in (dense, coarse)
    ]
    assert below[1] > 1.5 * below[0], "a coarse sweep's valley lies further below its bottom"


def test_on_a_smooth_curve_the_valley_reads_a_lagging_average_and_stays_in_the_usable_range():
    """Epoch means of a cumulative sweep are smooth: the valley is a tenth of the rate where the
    debiased moving average (beta 0.98) bottoms out, kept inside the usable range."""
    lrs, losses = textbook_curve()
    trimmed = slice(len(losses) // 10, len(losses) - 5)
    lagged = lrs[trimmed][np.nanargmin(smooth_losses(losses)[trimmed])]
    low, high = usable_range(lrs, losses)
    assert lagged > lrs[np.argmin(losses)], "the average lags: its minimum sits right of the curve's"
    assert suggest_lr(lrs, losses) == pytest.approx(min(max(lagged / 10, low), high))
    assert suggest_lr(lrs, losses) != pytest.approx(suggest_lr(lrs, losses, method="minimum", divisor=4))


def _lagged_bottom_by_hand(lrs, losses):
    """Where the debiased moving average (beta 0.98) is lowest, first tenth and last 5 points out."""
    trimmed = slice(len(losses) // 10, len(losses) - 5)
    return lrs[trimmed][np.nanargmin(smooth_losses(losses)[trimmed])]


def test_a_smooth_sweep_whose_loss_blew_up_reads_a_third_of_the_lagging_bottom():
    """A continuous sweep that ended in NaN hit a hard edge: the good band reaches closer to it, so
    the valley is a third of the lagging bottom instead of a tenth. Independent trials (every rate
    from fresh weights) keep the tenth: a diverged trial says nothing about trained weights."""
    lrs, losses = textbook_curve()
    blew_up = losses.copy()
    blew_up[lrs > 3e-4] = np.nan
    finite = int(np.isfinite(blew_up).sum())
    lagged = _lagged_bottom_by_hand(lrs[:finite], losses[:finite])
    low, high = usable_range(lrs, blew_up)
    third, tenth = (min(max(lagged / divisor, low), high) for divisor in (3, 10))
    assert third != pytest.approx(tenth), "the usable range clamps both readings to one rate"
    assert suggest_lr(lrs, blew_up) == pytest.approx(third)
    assert suggest_lr(lrs[:finite], losses[:finite]) == pytest.approx(tenth), "no NaN: no hard edge"
    assert suggest_lr(lrs, blew_up, trials="independent") == pytest.approx(tenth)
    assert result_of(lrs, blew_up, trials="independent").suggest() == pytest.approx(tenth)
    assert result_of(lrs, blew_up).suggest() == pytest.approx(third)


def test_independent_trials_take_no_steps_back_on_a_noisy_curve():
    lrs, losses = textbook_curve(num=60, noise=0.3, seed=3)
    bottom = suggest_lr(lrs, losses, method="minimum", divisor=1)
    low, _ = usable_range(lrs, losses)
    assert suggest_lr(lrs, losses, trials="independent") == pytest.approx(max(bottom / 2.5, low), rel=1e-9)
    assert suggest_lr(lrs, losses) < suggest_lr(lrs, losses, trials="independent")


@pytest.mark.parametrize("bad", ["batch", "Independent", None])
def test_trials_must_name_how_the_curve_was_recorded(bad):
    lrs, losses = textbook_curve()
    with pytest.raises((ValueError, TypeError), match="trials"):
        suggest_lr(lrs, losses, trials=bad)


def test_smoothing_does_not_shift_the_bottom_to_the_right():
    """A noisy curve read with the default centred smoothing keeps its bottom where it was."""
    lrs, clean = textbook_curve(num=400)
    _, noisy = textbook_curve(num=400, noise=0.3, seed=3)
    bottom = lrs[np.argmin(clean)]
    found = suggest_lr(lrs, noisy, method="minimum", divisor=1)
    assert abs(np.log10(found / bottom)) < 0.25
    # whereas the minimum of the exponential moving average sits further right
    lagged = lrs[np.nanargmin(smooth_losses(noisy))]
    assert lagged > found


def test_steepest_finds_the_steepest_fall_and_minimum_divides_the_bottom():
    lrs, losses = textbook_curve()
    # steepest relative fall: the largest drop of log(loss) between neighbouring rates
    steepest = lrs[np.argmin(np.diff(np.log(losses)))]
    assert suggest_lr(lrs, losses, method="steepest", smoothing=0) == steepest
    assert suggest_lr(lrs, losses, method="steepest") == pytest.approx(steepest, rel=0.3)
    bottom = suggest_lr(lrs, losses, method="minimum", divisor=1)
    assert 5e-6 < bottom < 3e-5
    assert suggest_lr(lrs, losses, method="minimum") == pytest.approx(bottom / 10)


def test_a_nan_tail_gives_the_same_answer_as_the_curve_without_it():
    lrs, losses = textbook_curve(noise=0.05)
    cut = 85
    tail = losses.copy()
    tail[cut:] = np.nan
    for method in SUGGESTION_METHODS:
        assert suggest_lr(lrs, tail, method=method) == suggest_lr(lrs[:cut], losses[:cut], method=method)


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_non_finite_tails_never_crash(bad):
    lrs, losses = textbook_curve()
    losses[60:] = bad
    for method in SUGGESTION_METHODS:
        lr = suggest_lr(lrs, losses, method=method)
        assert lrs[0] <= lr <= lrs[59]


def test_a_diverged_run_that_kills_relu_units_is_not_read_as_a_new_valley():
    """After the blow-up the loss settles on a plateau and falls again: still unusable."""
    lrs, losses = textbook_curve()
    position = np.log10(lrs)
    dead = position > -4.2
    losses[dead] = 40.0 - 5 * (position[dead] + 4.2)  # the plateau creeps down, above the valley's bottom
    lr = suggest_lr(lrs, losses)
    assert lr < 3e-5, lr


def test_too_few_finite_losses_is_a_value_error_naming_losses():
    lrs = np.geomspace(1e-5, 1, 10)
    losses = np.full(10, np.nan)
    losses[:2] = [1.0, 0.9]
    with pytest.raises(ValueError, match="losses"):
        suggest_lr(lrs, losses)
    with pytest.raises(ValueError, match="losses"):
        suggest_lr([1e-3, 1e-2], [1.0, 0.5])


@pytest.mark.parametrize(
    ("lrs", "match"),
    [
        ([1e-4, 1e-3, 0.0, 1e-1, 1.0, 10.0], r"lrs.*0\.0"),
        ([1e-4, -1e-3, 1e-2, 1e-1, 1.0, 10.0], r"lrs.*-0\.001"),
        ([1e-4, 1e-3, 1e-2, 1e-2, 1.0, 10.0], r"lrs.*increase"),
        ([1e-4, 1e-3, 1e-1, 1e-2, 1.0, 10.0], r"lrs.*increase"),
        ([1e-4, 1e-3, np.inf, 1e-1, 1.0, 10.0], r"lrs.*inf"),
    ],
)
def test_bad_rates_are_value_errors_naming_lrs_and_the_value(lrs, match):
    with pytest.raises(ValueError, match=match):
        suggest_lr(lrs, [6.0, 5.0, 4.0, 3.0, 2.0, 9.0])


def test_mismatched_lengths_name_both_arguments():
    with pytest.raises(ValueError, match=r"lrs and losses.*6 and 5"):
        suggest_lr(np.geomspace(1e-4, 1, 6), [5.0, 4.0, 3.0, 2.0, 1.0])


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="lrs"):
        suggest_lr("1e-3", [1.0] * 6)
    with pytest.raises(TypeError, match="losses"):
        suggest_lr(np.geomspace(1e-4, 1, 6), None)
    with pytest.raises(TypeError, match="losses"):
        suggest_lr(np.geomspace(1e-4, 1, 6), ["a"] * 6)
    with pytest.raises(ValueError, match="lrs"):
        suggest_lr(np.ones((3, 2)), [1.0] * 6)


def test_unknown_method_and_options_are_named():
    lrs, losses = textbook_curve()
    with pytest.raises(ValueError, match=r"method.*'lowest'"):
        suggest_lr(lrs, losses, method="lowest")
    with pytest.raises(TypeError, match="method"):
        suggest_lr(lrs, losses, method=3)
    with pytest.raises(TypeError, match="divisr"):
        suggest_lr(lrs, losses, method="minimum", divisr=3)
    with pytest.raises(ValueError, match="divisor"):
        suggest_lr(lrs, losses, method="minimum", divisor=0)


def test_a_smooth_sweep_that_ended_while_the_loss_still_fell_suggests_a_rate_near_its_end():
    """Issue 13: a per-epoch sweep whose range ends before the loss turns up. The full curve's
    valley lies well inside its range; cut at its bottom, the good band is at the end or past
    it, so the suggestion moves to the end instead of a decade below it."""
    lrs, losses = textbook_curve()  # smooth, like epoch means
    end = lrs <= 1e-5
    short_lrs, short_losses = lrs[end], losses[end]
    lr = suggest_lr(short_lrs, short_losses)
    assert lr >= short_lrs[-1] / 2.5, (lr, short_lrs[-1])
    assert [d.code for d in diagnose_sweep(short_lrs, short_losses)] == ["ended_before_instability"]


# ----------------------------------------------------------------------------- diagnose_sweep


def codes(lrs, losses):
    return [diagnostic.code for diagnostic in diagnose_sweep(lrs, losses)]


@pytest.mark.parametrize("noise", [0.0, 0.05])
def test_a_complete_readable_sweep_has_no_diagnostics(noise):
    assert diagnose_sweep(*textbook_curve(noise=noise)) == []
    assert diagnose_sweep(*textbook_curve(num=400, noise=0.3, seed=3)) == []  # per-batch-like noise


def test_ended_before_instability_triggers_only_when_the_loss_still_falls_at_the_end():
    lrs, losses = textbook_curve(noise=0.05)
    assert "ended_before_instability" not in codes(lrs, losses)
    short = lrs <= 8e-6
    found = diagnose_sweep(lrs[short], losses[short])
    assert [d.code for d in found] == ["ended_before_instability"]
    assert "end_lr" in found[0].message and f"{lrs[short][-1]:.3g}" in found[0].message
    # a sweep cut by NaN did reach instability: the NaN is the instability
    nan_tail = losses.copy()
    nan_tail[lrs > 1e-4] = np.nan
    assert "ended_before_instability" not in codes(lrs, nan_tail)


def test_started_too_late_triggers_when_the_sweep_begins_inside_the_fall():
    found = diagnose_sweep(*textbook_curve(start=1e-6, num=60, noise=0.05))
    assert [d.code for d in found] == ["started_too_late"]
    assert "start_lr" in found[0].message
    assert "started_too_late" not in codes(*textbook_curve(start=1e-8, noise=0.05))
    # a long warm-up fall followed by a long valley (the lesson's per-epoch sweep) is not "too late"
    lrs, losses = textbook_curve(noise=0.02)
    warm = np.log10(lrs) < -7
    losses[warm] *= 1 + 50 * (10 ** (-7 - np.log10(lrs[warm])) - 1) / 9
    assert "started_too_late" not in codes(lrs, losses)


def test_too_few_points_triggers_on_a_short_or_early_diverged_sweep_and_never_raises():
    lrs, losses = textbook_curve(num=10)
    found = diagnose_sweep(lrs, losses)
    assert [d.code for d in found] == ["too_few_points"]
    assert "10 of 10" in found[0].message
    lrs, losses = textbook_curve(nan_tail=90)
    found = diagnose_sweep(lrs, losses)
    assert [d.code for d in found] == ["too_few_points"] and "NaN" in found[0].message
    lrs, losses = textbook_curve(num=10, nan_tail=8)  # too few even for suggest_lr: no exception here
    assert codes(lrs, losses) == ["too_few_points"]
    assert "too_few_points" not in codes(*textbook_curve(num=40))


def test_too_noisy_triggers_when_the_noise_rivals_the_fall():
    found = diagnose_sweep(*textbook_curve(num=400, noise=1.5, seed=1))
    assert "too_noisy" in [d.code for d in found]
    message = next(d.message for d in found if d.code == "too_noisy")
    assert "num_rates" in message and 'per="epoch"' in message
    assert "too_noisy" not in codes(*textbook_curve(num=400, noise=0.3, seed=1))


def test_diagnostics_validate_their_input_like_suggest_lr():
    with pytest.raises(ValueError, match="lrs and losses"):
        diagnose_sweep([1e-3, 1e-2], [1.0])
    with pytest.raises(ValueError, match="lrs"):
        diagnose_sweep([1e-3, 1e-4, 1e-2, 1e-1, 1.0], [5.0, 4.0, 3.0, 2.0, 1.0])


def test_a_diagnostic_has_a_known_code_and_prints_it_with_its_message():
    item = diagnose_sweep(*textbook_curve(num=10))[0]
    assert isinstance(item, Diagnostic) and item.code in DIAGNOSTIC_CODES
    assert str(item).startswith("too_few_points: ")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=60))
def test_diagnostics_never_crash_or_warn_on_any_losses(values):
    lrs = np.geomspace(1e-6, 1.0, len(values)) if len(values) > 1 else np.array([1e-3])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for item in diagnose_sweep(lrs, np.array(values)):
            assert item.code in DIAGNOSTIC_CODES and item.message


def _result(lrs, losses):
    from course_utils.range_test import RangeTestResult

    return RangeTestResult(
        lrs=lrs,
        losses=losses,
        smoothed_losses=smooth_losses(losses),
        per="epoch",
        trials="continuous",
        elapsed=1.0,
    )


def test_range_test_result_lists_the_diagnostics_in_its_summary_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lrs, losses = textbook_curve(noise=0.02)
    short = lrs <= 8e-6
    result = _result(lrs[short], losses[short])
    assert [d.code for d in result.diagnose()] == ["ended_before_instability"]
    assert "warning   ended_before_instability: the loss was still falling" in result.summary()
    figure, ax = plt.subplots()
    try:
        result.plot(ax=ax)
        texts = [text.get_text() for text in ax.texts]
    finally:
        plt.close(figure)
    assert any("ended before instability" in text for text in texts)
    complete = _result(lrs, losses)
    assert "warning" not in complete.summary()
    figure, ax = plt.subplots()
    try:
        complete.plot(ax=ax)
        assert not any("warning" in text.get_text() for text in ax.texts)
    finally:
        plt.close(figure)


# ----------------------------------------------------------------------------- usable_range


def test_usable_range_brackets_the_valley_and_stops_before_the_blow_up():
    lrs, losses = textbook_curve(noise=0.05)
    low, high = usable_range(lrs, losses)
    assert lrs[0] <= low < high <= lrs[-1]
    assert low <= suggest_lr(lrs, losses) <= high
    assert high < 4e-5  # the blow-up starts past 3e-5
    assert low > 1e-7  # the flat start is not usable: nothing happens there


def test_usable_range_of_a_nan_tail_ends_before_it():
    lrs, losses = textbook_curve(nan_tail=30)
    low, high = usable_range(lrs, losses)
    assert high <= lrs[69]
    assert low <= high


def test_usable_range_validates_like_suggest_lr():
    with pytest.raises(ValueError, match="lrs and losses"):
        usable_range([1e-3, 1e-2], [1.0])


# ----------------------------------------------------------------------------- properties

finite_loss = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)
any_loss = st.one_of(finite_loss, st.just(float("nan")), st.just(float("inf")), st.just(0.0))


@st.composite
def sweeps(draw, losses=any_loss):
    size = draw(st.integers(min_value=1, max_value=150))
    start = draw(st.floats(min_value=1e-10, max_value=1.0))
    decades = draw(st.floats(min_value=1e-3, max_value=12.0))
    lrs = np.geomspace(start, start * 10**decades, size) if size > 1 else np.array([start])
    values = draw(st.lists(losses, min_size=size, max_size=size))
    return lrs, np.array(values)


def check_answer(lrs, losses, method="valley"):
    """The one allowed failure is ValueError for too few points; answers are finite rates in range."""
    finite = np.isfinite(losses)
    try:
        lr = suggest_lr(lrs, losses, method=method)
    except ValueError as error:
        assert "losses" in str(error)
        assert finite.sum() < 5 or len(np.unique(lrs)) < len(lrs)
        return
    assert math.isfinite(lr)
    assert lrs[0] * (1 - 1e-12) <= lr <= lrs[-1] * (1 + 1e-12)
    low, high = usable_range(lrs, losses)
    assert lrs[0] * (1 - 1e-12) <= low <= high <= lrs[-1] * (1 + 1e-12)
    if method == "valley":  # the default suggestion lies in the band the plots shade
        assert low * (1 - 1e-9) <= lr <= high * (1 + 1e-9)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sweeps(), st.sampled_from(SUGGESTION_METHODS))
def test_random_curves_give_a_rate_in_range_or_a_clear_value_error(sweep, method):
    lrs, losses = sweep
    check_answer(lrs, losses, method)


@settings(max_examples=150, deadline=None)
@given(sweeps(losses=finite_loss), st.integers(min_value=0, max_value=150), st.sampled_from([np.nan, np.inf]))
def test_random_curves_with_a_diverged_tail(sweep, keep, bad):
    lrs, losses = sweep
    losses = losses.copy()
    losses[keep:] = bad
    check_answer(lrs, losses)


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=5, max_value=200),
    st.floats(min_value=1e-8, max_value=1e8),
    st.floats(min_value=0.0, max_value=1e-9),
)
def test_flat_curves_give_a_finite_rate_in_range(size, level, wobble):
    lrs = np.geomspace(1e-6, 1.0, size)
    losses = level * (1 + wobble * np.sin(np.arange(size)))
    for method in SUGGESTION_METHODS:
        check_answer(lrs, losses, method)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=5, max_size=60),
    st.sampled_from(SUGGESTION_METHODS),
)
def test_any_float_losses_even_negative_or_huge_give_an_answer_without_warnings(values, method):
    """Custom losses may be negative or enormous: no crash, and nothing written to stderr."""
    lrs = np.geomspace(1e-6, 1.0, len(values))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would reach stderr in a notebook
        check_answer(lrs, np.array(values), method)


# ----------------------------------------------------------------------------- quality


def _load_benchmark_module(name):
    path = ROOT / "benchmarks" / "suggestion_eval" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"suggestion_eval_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def left_out_scores():
    """``bench_suggest.leave_one_problem_out`` on the stored set and its cut copies."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT / "benchmarks" / "suggestion_eval"))
    try:
        bench = importlib.import_module("bench_suggest")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    cases = bench.evaluate.load_cases()
    assert len({case.problem for case in cases}) >= 20
    everything = cases + bench.ended_early(cases)
    rates = {
        name: bench.evaluate.suggestions(baseline, everything)
        for name, baseline in bench.baselines.BASELINES.items()
    }
    return bench.leave_one_problem_out(everything, rates, verbose=False)


@pytest.mark.parametrize("group", ["per-epoch", "per-batch", "per-epoch cut", "per-batch cut"])
def test_left_out_the_default_beats_every_baseline(left_out_scores, group):
    """The issue's bar, scored honestly: every constant and rule choice of the default is chosen
    on the other problems (leave one problem out), and the default's hits on the problems it was
    not tuned on must be strictly above each baseline's ("cut": the same curves cut where the
    loss still fell, sweeps that ended before the instability). The margins are a few curves of
    96 (README): a new problem can flip one."""
    ours = left_out_scores[group]["ours: valley (LOPO)"][0]
    for name, (theirs, *_) in left_out_scores[group].items():
        if name != "ours: valley (LOPO)":
            assert ours > theirs, f"{group}, {name}: {theirs} hits against our {ours}"


def test_default_beats_every_baseline_on_the_stored_evaluation_set():
    """The issue's bar, on our own set: the default lands in the good band more often than each baseline."""
    evaluate = _load_benchmark_module("evaluate")
    baselines = _load_benchmark_module("baselines")
    cases = evaluate.load_cases()
    assert len(cases) >= 24

    def hits(method):
        return sum(hit for hit, _, _ in evaluate.evaluate(method, cases))

    ours = hits(suggest_lr)
    for name, baseline in baselines.BASELINES.items():
        theirs = hits(baseline)
        assert ours > theirs, f"{name}: {theirs} hits against our {ours}"
