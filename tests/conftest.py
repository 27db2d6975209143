"""Shared test set-up: quiet TensorFlow, seed everything, and keep one TensorFlow thread pool small;
the course site, built once per session."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import pytest  # noqa: E402

from course_utils.data import synthetic_series, train_valid_split  # noqa: E402

# The shared code in tests/support/ reports its failed asserts as the tests' own asserts do.
pytest.register_assert_rewrite("support")


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
    """The course site (``course site``) of the release in ``notebooks/``, built once per test session.

    With pytest-xdist every worker asks for it; the first builds it under the session's shared
    temporary folder while the others wait on a lock, then all read the same files. A failed build
    is recorded, so the other workers fail at once instead of building again.
    """
    import fcntl
    import time as clock

    from course_tools.site import build_site

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above the workers' own ones
    folder = shared / "course-site"
    folder.mkdir(exist_ok=True)
    site, done, failed = folder / "site", folder / "built", folder / "failed"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if failed.exists():
                pytest.fail(f"building the course site failed (in another worker): {failed.read_text()}")
            if not done.exists():
                started = clock.monotonic()
                try:
                    build_site(output=site, log=None)
                except Exception as error:
                    failed.write_text(f"{type(error).__name__}: {error}")
                    raise
                done.write_text(f"{clock.monotonic() - started:.1f}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return site
