"""Tests for course_utils.other_finders: fastai's and pytorch-lr-finder's finders, as their libraries apply them.

No training here: curves are made with NumPy, so the answer of each rule is known by construction
or follows from the libraries' descriptions, computed here with plain loops of our own.
"""

import math
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from course_utils.other_finders import (
    MIN_CURVE_POINTS,
    OTHER_FINDERS,
    fastai_curve,
    fastai_minimum_rule,
    fastai_smooth,
    fastai_steep_rule,
    fastai_valley_rule,
    finite_prefix,
    lrfinder_curve,
    lrfinder_steepest_rule,
    other_finder_rate,
)
from course_utils.suggest import suggest_lr


def debiased_ema(values, beta=0.98):
    """fastai's recorder smoothing, written out: ``avg = beta avg + (1 - beta) x``, over ``1 - beta**n``."""
    smoothed, average = [], 0.0
    for count, value in enumerate(values, start=1):
        average = beta * average + (1 - beta) * float(value)
        smoothed.append(average / (1 - beta**count))
    return np.array(smoothed)


def plain_ema(values, factor=0.05):
    """pytorch-lr-finder's smoothing: the first loss as is, then ``factor x + (1 - factor) previous``."""
    smoothed = [float(values[0])]
    for value in values[1:]:
        smoothed.append(factor * float(value) + (1 - factor) * smoothed[-1])
    return np.array(smoothed)


def first_above(smoothed, factor):
    """Index of the first smoothed loss above ``factor`` times the lowest one so far, or None."""
    best = math.inf
    for index, value in enumerate(smoothed):
        best = min(best, value)
        if value > factor * best:
            return index
    return None


def v_curve(num=200, start=1e-6, end=1.0, bottom=1e-3):
    """Loss falling linearly in log-rate from 4 down to 1 at ``bottom``, then rising to 2.5: no
    finder's divergence stop fires (the loss never reaches 4 times its best)."""
    lrs = np.geomspace(start, end, num)
    position = np.log10(lrs)
    low, high = math.log10(bottom), math.log10(end)
    falling = 1 + 3 * (low - position) / (low - math.log10(start))
    rising = 1 + 1.5 * (position - low) / (high - low)
    return lrs, np.where(position <= low, falling, rising)


def reference_valley(lrs, losses):
    """fastai's ``valley`` as its description reads: a double loop over all pairs."""
    n = len(losses)
    lds = [1] * n
    max_start, max_end = 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    index = max_start + int(sections) + int(sections / 2)
    return float(lrs[max(index, 0)])


@pytest.fixture
def strict_numpy():
    """Any NumPy floating-point warning, or any warning at all, fails the test."""
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        yield


# ----------------------------------------------------------------------------- the bare rules


def test_valley_rule_on_a_v_reads_a_third_and_a_sixth_along_the_fall():
    losses = np.r_[np.arange(30, 0, -1.0), np.arange(2, 20, 1.0)]  # falls for 30 points, bottom at 29
    lrs = np.geomspace(1e-5, 1.0, len(losses))
    # longest decreasing run ends at the bottom (index 29) and is 30 long: start is 29 - 30 = -1
    third = 30 / 3
    assert fastai_valley_rule(lrs, losses) == lrs[-1 + int(third) + int(third / 2)]


def test_valley_rule_counts_a_subsequence_as_if_it_were_contiguous():
    losses = np.array([5.0, 6.0, 4.0, 7.0, 3.0, 8.0, 2.0])
    lrs = np.arange(1.0, 8.0)
    # 5 > 4 > 3 > 2 ends at index 6, 4 long: start 2, a third of 4 is 1.33 -> index 2 + 1 + 0
    assert fastai_valley_rule(lrs, losses) == lrs[3]


def test_valley_rule_takes_the_first_of_two_equally_long_runs():
    losses = np.array([9.0, 8.0, 7.0, 6.0, 10.0, 5.5, 20.0, 19.0, 18.0, 17.0])
    lrs = np.arange(1.0, 11.0)
    # the run 9 > 8 > 7 > 6 > 5.5 (5 long) ends at index 5; 20 > ... > 17 is only 4 long
    third = 5 / 3
    assert fastai_valley_rule(lrs, losses) == lrs[5 - 5 + int(third) + int(third / 2)]


def test_steep_rule_is_per_log_rate_and_steepest_is_per_step():
    lrs = np.array([1.0, 2.0, 4.0, 8.0, 8.1, 16.0])
    losses = np.array([10.0, 9.0, 8.0, 7.0, 6.5, 5.0])
    # per unit of log-rate the drop of 0.5 between 8 and 8.1 is by far the steepest
    assert fastai_steep_rule(lrs, losses) == 8.0
    # per step (np.gradient: one-sided at the ends, centred inside) the last drop of 1.5 is
    gradient = [9 - 10, (8 - 10) / 2, (7 - 9) / 2, (6.5 - 8) / 2, (5 - 7) / 2, 5 - 6.5]
    assert min(gradient) == gradient[5]
    assert lrfinder_steepest_rule(lrs, losses) == 16.0


def test_minimum_rule_is_a_tenth_of_the_lowest_point_even_below_the_sweep():
    lrs = np.array([1e-3, 1e-2, 1e-1, 1.0])
    assert fastai_minimum_rule(lrs, [3.0, 1.0, 2.0, 5.0]) == pytest.approx(1e-3)
    assert fastai_minimum_rule(lrs, [0.5, 1.0, 2.0, 5.0]) == pytest.approx(1e-4)  # the bare rule


@pytest.mark.parametrize("seed", range(40))
def test_fast_valley_equals_the_double_loop(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 120))
    lrs = np.geomspace(1e-6, 1.0, size)
    kind = seed % 4
    if kind == 0:
        losses = rng.normal(size=size).cumsum()  # a random walk
    elif kind == 1:
        losses = rng.integers(0, 4, size=size).astype(float)  # many ties
    elif kind == 2:
        losses = np.sort(rng.uniform(size=size))[::-1] + rng.normal(scale=0.05, size=size)
    else:
        losses = rng.choice([0.0, -0.0, 1.0, np.inf, -np.inf, np.nan, 2.0], size=size)
    assert fastai_valley_rule(lrs, losses) == reference_valley(lrs, losses)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=60))
def test_fast_valley_equals_the_double_loop_on_any_floats(values):
    lrs = np.arange(1.0, len(values) + 1)
    assert fastai_valley_rule(lrs, np.array(values)) == reference_valley(lrs, values)


def test_valley_is_fast_on_a_long_curve():
    rng = np.random.default_rng(1)
    lrs = np.geomspace(1e-7, 10.0, 1400)
    losses = rng.normal(size=1400).cumsum()
    fastest = math.inf
    for _ in range(5):
        started = time.perf_counter()
        fastai_valley_rule(lrs, losses)
        fastest = min(fastest, time.perf_counter() - started)
    assert fastest < 0.05


# ----------------------------------------------------------------------------- fastai's pipeline


def test_fastai_smooth_is_the_debiased_ema_with_beta_0_98():
    losses = np.random.default_rng(2).uniform(0.5, 3.0, size=300)
    np.testing.assert_allclose(fastai_smooth(losses), debiased_ema(losses), rtol=1e-15)
    np.testing.assert_allclose(fastai_smooth(np.full(40, 2.5)), 2.5)


def test_fastai_curve_drops_the_first_tenth_and_the_last_five_points():
    lrs, losses = v_curve(num=200)
    assert first_above(debiased_ema(losses), 4.0) is None
    curve_lrs, curve_losses = fastai_curve(lrs, losses)
    np.testing.assert_array_equal(curve_lrs, lrs[20:195])
    np.testing.assert_allclose(curve_losses, debiased_ema(losses)[20:195], rtol=1e-15)


def test_fastai_curve_stops_once_the_smoothed_loss_exceeds_four_times_the_best():
    lrs = np.geomspace(1e-5, 1.0, 300)
    losses = np.r_[np.linspace(10.0, 1.0, 150), np.geomspace(1.0, 1e3, 150)]
    smoothed = debiased_ema(losses)
    stop = first_above(smoothed, 4.0)
    # the test tells 4 apart from 3 and 5: each is crossed at another point
    assert first_above(smoothed, 3.0) < stop < first_above(smoothed, 5.0) < 295
    curve_lrs, curve_losses = fastai_curve(lrs, losses)
    # the point that triggered the stop is recorded, then the last 5 are dropped
    np.testing.assert_array_equal(curve_lrs, lrs[30 : stop + 1 - 5])
    np.testing.assert_allclose(curve_losses, smoothed[30 : stop + 1 - 5], rtol=1e-15)


def test_fastai_curve_ends_at_the_first_nan():
    lrs, losses = v_curve(num=200)
    losses[120] = np.nan  # a NaN stays in the average from there on
    curve_lrs, curve_losses = fastai_curve(lrs, losses)
    np.testing.assert_array_equal(curve_lrs, lrs[20:120])
    assert np.isfinite(curve_losses).all()


def test_fastai_finders_on_a_v_curve_follow_their_definitions():
    lrs, losses = v_curve(num=200)
    kept_lrs, kept = lrs[20:195], debiased_ema(losses)[20:195]
    bottom = int(np.argmin(kept))
    # the average lags: its lowest point comes after the raw bottom at 1e-3
    assert kept_lrs[bottom] > 1e-3
    assert other_finder_rate("fastai_minimum", lrs, losses) == pytest.approx(kept_lrs[bottom] / 10, rel=1e-12)
    # the smoothed V falls strictly to its bottom, so the longest decreasing run is all of it
    assert np.all(np.diff(kept[: bottom + 1]) < 0) and np.all(np.diff(kept[bottom:]) > 0)
    third = (bottom + 1) / 3
    assert other_finder_rate("fastai_valley", lrs, losses) == kept_lrs[-1 + int(third) + int(third / 2)]
    slopes = [
        (kept[i + 1] - kept[i]) / (math.log(kept_lrs[i + 1]) - math.log(kept_lrs[i]))
        for i in range(len(kept) - 1)
    ]
    assert other_finder_rate("fastai_steep", lrs, losses) == kept_lrs[int(np.argmin(slopes))]


def test_fastai_minimum_is_clamped_to_the_first_rate():
    lrs = np.geomspace(1e-3, 1.0, 100)
    losses = np.linspace(1.0, 2.0, 100)  # lowest at the start: a tenth of it lies below the sweep
    curve_lrs, curve_losses = fastai_curve(lrs, losses)
    assert fastai_minimum_rule(curve_lrs, curve_losses) < lrs[0]  # as the library reads it
    assert other_finder_rate("fastai_minimum", lrs, losses) == lrs[0]


# ----------------------------------------------------------------------------- pytorch-lr-finder's pipeline


def test_lrfinder_curve_smooths_with_0_05_and_skips_10_and_5():
    lrs, losses = v_curve(num=200)
    assert first_above(plain_ema(losses), 5.0) is None
    curve_lrs, curve_losses = lrfinder_curve(lrs, losses)
    np.testing.assert_array_equal(curve_lrs, lrs[10:195])
    np.testing.assert_allclose(curve_losses, plain_ema(losses)[10:195], rtol=1e-15)


def test_lrfinder_curve_stops_once_the_smoothed_loss_exceeds_five_times_the_best():
    lrs = np.geomspace(1e-5, 1.0, 300)
    losses = np.r_[np.linspace(10.0, 1.0, 150), np.geomspace(1.0, 1e3, 150)]
    smoothed = plain_ema(losses)
    stop = first_above(smoothed, 5.0)
    assert first_above(smoothed, 4.0) < stop < first_above(smoothed, 6.0) < 295
    curve_lrs, curve_losses = lrfinder_curve(lrs, losses)
    np.testing.assert_array_equal(curve_lrs, lrs[10 : stop + 1 - 5])
    np.testing.assert_allclose(curve_losses, smoothed[10 : stop + 1 - 5], rtol=1e-15)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_lrfinder_curve_ends_before_the_first_non_finite_loss(bad):
    lrs, losses = v_curve(num=200)
    losses[150] = bad
    curve_lrs, curve_losses = lrfinder_curve(lrs, losses)
    np.testing.assert_array_equal(curve_lrs, lrs[10:145])
    np.testing.assert_allclose(curve_losses, plain_ema(losses[:150])[10:145], rtol=1e-15)


def test_lrfinder_steepest_on_a_v_curve_follows_its_definition():
    lrs, losses = v_curve(num=200)
    kept_lrs, kept = lrs[10:195], plain_ema(losses)[10:195]
    last = len(kept) - 1
    gradient = [kept[1] - kept[0]]
    gradient += [(kept[i + 1] - kept[i - 1]) / 2 for i in range(1, last)]
    gradient += [kept[last] - kept[last - 1]]
    assert other_finder_rate("lrfinder_steepest", lrs, losses) == kept_lrs[int(np.argmin(gradient))]


def test_finite_prefix_cuts_at_the_first_non_finite_loss():
    lrs, losses = finite_prefix([1.0, 2.0, 3.0, 4.0], [3.0, 2.0, np.inf, 1.0])
    np.testing.assert_array_equal(lrs, [1.0, 2.0])
    np.testing.assert_array_equal(losses, [3.0, 2.0])


# ----------------------------------------------------------------------------- as suggest_lr calls them


@pytest.mark.parametrize("method", OTHER_FINDERS)
def test_too_little_left_gives_the_first_rate(method):
    lrs = np.geomspace(1e-4, 1e-1, 20)
    losses = np.linspace(5.0, 1.0, 20)
    losses[4:] = np.nan  # fastai keeps points 2 and 3 (from 20 // 10 to the NaN); lr-finder none
    assert other_finder_rate(method, lrs, losses) == lrs[0]
    assert MIN_CURVE_POINTS == 3


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="fastai_valley"):
        other_finder_rate("valley", [1e-3, 1e-2], [1.0, 2.0])


def nasty_curves():
    lrs = np.geomspace(1e-6, 1.0, 120)
    rng = np.random.default_rng(3)
    middle_nan = np.linspace(3.0, 1.0, 120)
    middle_nan[60] = np.nan
    curves = {
        "constant": np.full(120, 2.0),
        "zeros": np.zeros(120),
        "nan after 3": np.r_[1.0, 2.0, 3.0, np.full(117, np.nan)],
        "all nan": np.full(120, np.nan),
        "1e308": np.full(120, 1e308),
        "largest float": np.full(120, np.finfo(float).max),
        "alternating 1e308": np.where(np.arange(120) % 2, 1e308, -1e308),
        "negative": -np.linspace(1.0, 5.0, 120),
        "negative noisy": -rng.uniform(0, 10, size=120),
        "nan in the middle": middle_nan,
        "inf first": np.r_[np.inf, np.linspace(3.0, 1.0, 119)],
        "-inf then inf": np.r_[-np.inf, np.full(59, 1.0), np.inf, np.full(59, 1.0)],
        "tiny": np.full(120, 5e-324),
    }
    return lrs, curves


@pytest.mark.parametrize("method", OTHER_FINDERS)
def test_nasty_losses_give_a_rate_in_range_without_warnings(method, strict_numpy):
    lrs, curves = nasty_curves()
    for name, losses in curves.items():
        rate = other_finder_rate(method, lrs, losses)
        assert isinstance(rate, float), name
        assert lrs[0] <= rate <= lrs[-1], name


@pytest.mark.parametrize(
    "rule", [fastai_valley_rule, fastai_steep_rule, fastai_minimum_rule, lrfinder_steepest_rule]
)
def test_bare_rules_read_nasty_raw_curves_without_warnings(rule, strict_numpy):
    """The benchmark applies the bare rules to raw curves (cut at the first non-finite loss),
    where neighbouring losses may differ by more than the largest float."""
    lrs, curves = nasty_curves()
    for name, losses in curves.items():
        short_lrs, short_losses = finite_prefix(lrs, losses)
        if len(short_lrs) < MIN_CURVE_POINTS:
            continue
        rates = short_lrs / 10 if rule is fastai_minimum_rule else short_lrs
        assert rule(short_lrs, short_losses) in rates, name


@pytest.mark.parametrize("size", [1, 2, 3, 5, 11, 16, 17])
def test_short_sweeps_give_a_rate_in_range_without_warnings(size, strict_numpy):
    lrs = np.geomspace(1e-4, 1e-2, size) if size > 1 else np.array([1e-3])
    for method in OTHER_FINDERS:
        for losses in (np.linspace(3.0, 1.0, size), np.full(size, 1e308), np.full(size, np.nan)):
            assert lrs[0] <= other_finder_rate(method, lrs, losses) <= lrs[-1]


any_loss = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1e308, -1e308, np.finfo(float).max, np.nan]),
)


@st.composite
def sweeps(draw):
    size = draw(st.integers(min_value=1, max_value=150))
    start = draw(st.floats(min_value=1e-10, max_value=1.0))
    decades = draw(st.floats(min_value=1e-3, max_value=12.0))
    lrs = np.geomspace(start, start * 10**decades, size) if size > 1 else np.array([start])
    return lrs, np.array(draw(st.lists(any_loss, min_size=size, max_size=size)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sweeps(), st.sampled_from(OTHER_FINDERS))
def test_any_losses_give_a_rate_in_range_without_warnings(sweep, method):
    lrs, losses = sweep
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        rate = other_finder_rate(method, lrs, losses)
    assert lrs[0] <= rate <= lrs[-1]


def test_the_module_imports_without_tensorflow():
    code = (
        "import sys, course_utils.other_finders; "
        "loaded = {'tensorflow', 'keras'} & set(sys.modules); "
        "assert not loaded, loaded"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


# ----------------------------------------------------------------------------- through suggest_lr


@pytest.mark.parametrize("method", OTHER_FINDERS)
def test_suggest_lr_offers_each_other_finder_and_checks_input_as_its_own_rules(method):
    lrs = np.geomspace(1e-6, 1.0, 300)
    position = np.log10(lrs)
    losses = (
        2.0
        - 1.0 / (1 + np.exp(-(position + 4) * 3))
        + np.where(position > -1.5, 10 ** (position + 1.5) - 1, 0)
    )
    assert suggest_lr(lrs, losses, method=method) == other_finder_rate(method, lrs, losses)
    with pytest.raises(TypeError, match="divisor"):
        suggest_lr(lrs, losses, method=method, divisor=2)
    with pytest.raises(ValueError, match="losses"):
        suggest_lr(lrs[:3], losses[:3], method=method)
    with pytest.raises(ValueError, match="lrs"):
        suggest_lr(lrs[::-1], losses, method=method)
