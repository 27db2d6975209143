"""course_utils._validate: the argument checks every public function shares."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils._validate import check_positive_rates, check_sweep_rates, renamed


def test_positive_rates_name_the_bad_ones():
    rates = np.array([1e-3, 1e-2])
    assert check_positive_rates(rates) is rates
    with pytest.raises(
        ValueError, match=r"lrs must be positive, finite learning rates; got \[0\.0, -1\.0, inf\]"
    ):
        check_positive_rates(np.array([1e-3, 0.0, -1.0, np.inf]))


def test_sweep_rates_also_increase():
    check_sweep_rates(np.array([1e-3, 1e-2]))
    with pytest.raises(ValueError, match=r"lrs\[0\]=0\.01 followed by lrs\[1\]=0\.001"):
        check_sweep_rates(np.array([1e-2, 1e-3]))
    with pytest.raises(ValueError, match="positive, finite"):
        check_sweep_rates(np.array([np.nan, 1e-3]))


def test_an_old_name_is_accepted_but_not_both():
    assert renamed("num_rates", 5, "num_steps", None) == (5, "num_rates")
    assert renamed("num_rates", None, "num_steps", 7) == (7, "num_steps")
    assert renamed("method", "auto", "path", "fallback", default="auto") == ("fallback", "path")
    with pytest.raises(TypeError, match="give method or its old name path, not both"):
        renamed("method", "vectorized", "path", "fallback", default="auto")
