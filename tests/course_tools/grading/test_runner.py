"""course_tools.grading.runner: collecting a submission, its hash, the summary, and what Dask needs."""

from __future__ import annotations

import sys

import pytest

from course_tools.grading.course import Course
from course_tools.grading.runner import (
    Row,
    RunSummary,
    collect_submission,
    grade_assignment,
    submission_hash,
    summary_table,
)
from course_tools.grading.worker import FAILED, FLAGGED, GRADED


def test_collect_submission_skips_symlinks_and_checkpoints(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hidden tests")
    folder = tmp_path / "submission"
    (folder / ".ipynb_checkpoints").mkdir(parents=True)
    (folder / "nb.ipynb").write_text("{}")
    (folder / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text("{}")
    (folder / "link.txt").symlink_to(secret)
    files, notes = collect_submission(folder)
    assert set(files) == {"nb.ipynb"}
    assert any("link.txt" in note for note in notes)
    assert submission_hash(files) == submission_hash(dict(files))
    assert submission_hash(files) != submission_hash({"nb.ipynb": b"{ }"})
    assert submission_hash(files) != submission_hash({"other.ipynb": b"{}"})


def test_summary_table_lists_every_student_and_the_counts():
    rows = [
        Row("ann", GRADED, [], 6, 6),
        Row("bob", FLAGGED, ["squares: cell 'x': interrupted after 5 s", "second reason"], 4, 6),
        Row("cy", FAILED, ["grading failed: boom"], 0, 6, cached=False),
        Row("dee", GRADED, [], 6, 6, cached=True),
    ]
    table = summary_table(RunSummary("toy", "sandbox: files yes", rows, 12.0, "2 local worker(s)"))
    lines = table.splitlines()
    assert lines[0] == "toy: sandbox: files yes"
    assert any(line.startswith("bob") and "interrupted after 5 s" in line for line in lines)
    assert any("second reason" in line and not line.startswith("bob") for line in lines)
    assert any(line.startswith("dee") and "graded*" in line for line in lines)
    assert "graded 2, flagged 1, failed 1" in lines[-1]
    assert not RunSummary("toy", "", rows, 1.0, "").ok


def test_grading_on_a_cluster_without_dask_says_what_to_install(toy_course, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ValueError, match=r"needs Dask: pip install -e '\.\[instructor\]'"):
        grade_assignment(Course.load(toy_course), "toy", scheduler="tcp://127.0.0.1:1")
