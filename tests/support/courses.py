"""The repository as a course, a small toy course laid out like it, and a two-notebook release,
for the tooling's tests."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nbformat

from course_tools.grading import corpus
from course_tools.grading.course import course_root
from course_tools.notebook_format import ASSIGNMENT

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


def _write_notebook(path: Path, cells) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.nbformat_minor = 5
    notebook.cells = cells
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))


def two_notebook_release(root) -> Path:
    """A release (``notebooks/<ASSIGNMENT>/``) of two notebooks in ``root``, for ``course link``:
    numbered headings, a 'Summary' in both and text only in code. Returns ``root``."""
    root = Path(root)
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    _write_notebook(
        root / "notebooks" / ASSIGNMENT / "01_fixed_rate.ipynb",
        [
            md("# A fixed learning rate\n\nTrain once.", id="title"),
            md("## 1. Train at fixed rates", id="train-at-fixed-rates"),
            code("history = model.fit(dataset, epochs=5)", id="train-once"),
            md("## Summary\n\nSmall is slow.", id="summary"),
        ],
    )
    _write_notebook(
        root / "notebooks" / ASSIGNMENT / "02_sweep.ipynb",
        [
            md("# Sweep the rate", id="title"),
            md("## 2. Tune the Learning Rate\n\nThe sweep.", id="tune-the-learning-rate"),
            code("lr_schedule = LearningRateScheduler(lambda epoch: 1e-8 * 10 ** (epoch / 20))", id="sweep"),
            md("### Why does the rate go *up*?", id="why-up"),
            md("## Summary\n\nRead the valley.", id="summary"),
        ],
    )
    return root
