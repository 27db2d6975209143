"""Fixtures of the tooling's tests."""

import pytest

from support.courses import toy_course_like_the_repository, two_notebook_release


@pytest.fixture(scope="session")
def toy_course(tmp_path_factory):
    """One toy course per test process (see :func:`support.courses.toy_course_like_the_repository`).

    Tests may change it, but leave it as a course: a stale release is regenerated, a leaked file
    removed again, and what a test merges into the gradebook belongs to a student of its own.
    """
    return toy_course_like_the_repository(tmp_path_factory.mktemp("toy") / "course")


@pytest.fixture
def small_course(tmp_path):
    """A fresh two-notebook release per test (:func:`support.courses.two_notebook_release`)."""
    return two_notebook_release(tmp_path)
