"""The repository as a course, and a small toy course laid out like it, for the tooling's tests."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from course_tools.grading import corpus
from course_tools.grading.course import course_root

#: The repository: the course these tests run in.
REPO = course_root()

#: The course's notebooks, in order: a test that needs one fails (never skips) when it is missing.
COURSE_NOTEBOOKS = (
    "01_fixed_rate",
    "02_sweep",
    "03_read_the_valley",
    "04_retrain",
    "05_reinit_per_rate",
    "06_valley_to_decay",
)


def nbgrader_on_path() -> None:
    """nbgrader runs ``alembic`` from PATH: put this environment's bin first."""
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]


def toy_course_like_the_repository(root) -> Path:
    """The toy course (released, with one good submission) and the repository's packages and files.

    Both packages sit in the course root, as in the repository, so a bundle built from it has to
    leave the tooling out by itself.
    """
    nbgrader_on_path()
    root = corpus.make_toy_course(Path(root))
    for package in ("course_utils", "course_tools"):
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, root / name)
    corpus.submit(root, "someone", corpus.case("good").build(root))
    return root
