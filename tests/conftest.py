"""Shared test set-up: quiet TensorFlow, seed everything, and keep one TensorFlow thread pool small;
the course site and the student install, each built once per session."""

import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402

from course_utils.data import synthetic_series, train_valid_split  # noqa: E402

# The shared code in tests/support/ reports its failed asserts as the tests' own asserts do.
pytest.register_assert_rewrite("support")

from support.shared import built_once  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    keras.utils.set_random_seed(0)
    yield


@pytest.fixture(scope="module")
def small_split():
    """The first 260 values of the course's series, split at 200: trains in a second."""
    time, series = synthetic_series()
    return train_valid_split(time[:260], series[:260], split_time=200)


@pytest.fixture(scope="session")
def course_site(tmp_path_factory):
    """The course site (``course site``) of the release in ``notebooks/``, built once per test session."""

    def build(folder):
        # In a process of its own: the notebooks run under asyncio, which cannot start inside the
        # event loop of a browser test that asks for the site first.
        done = subprocess.run(
            [
                Path(sys.executable).parent / "course",
                "site",
                "--output",
                str(folder / "site"),
                "--no-sync-extension",
            ],
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if done.returncode != 0:
            raise RuntimeError(f"course site failed: {done.stderr[-3000:]}")

    return built_once(tmp_path_factory, "course-site", build) / "site"


@pytest.fixture(scope="session")
def student_install(tmp_path_factory):
    """The student bundle installed with pip into a fresh venv, with a kernel that runs there; built
    once per test session (:mod:`support.student_install`)."""
    from support.student_install import install_student_bundle, student_install_in

    return student_install_in(built_once(tmp_path_factory, "student-install", install_student_bundle))
