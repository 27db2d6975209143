"""Fold graded submissions into the course's one gradebook, one at a time, through nbgrader's API.

SQLite takes one writer at a time, so the workers never write to the course gradebook: each grades
into a private copy made from a *template* (the course gradebook with its students and submissions
removed, so a worker sees no other student's data), and the parent merges every finished result
here, serially. The merge writes only what autograding owns (``auto_score``,
``needs_manual_grade``, ``auto_comment``, the late penalty, the timestamp, the flag), so manual
grades survive a re-run and merging the same result twice changes nothing.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
import warnings
from pathlib import Path

from course_tools.grading.worker import FAILED, FLAGGED, SubmissionResult


def template_gradebook(db_path) -> bytes:
    """The gradebook's assignments and source cells without any student, as SQLite file bytes."""
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="gradebook-template-") as scratch:
        copy = Path(scratch) / "template.db"
        source = sqlite3.connect(str(db_path))
        target = sqlite3.connect(str(copy))
        try:
            source.backup(target)  # consistent even if someone else is reading the gradebook
        finally:
            target.close()
            source.close()
        with Gradebook("sqlite:///" + str(copy)) as gradebook:
            for student in list(gradebook.students):
                gradebook.remove_student(student.id)
        vacuum = sqlite3.connect(str(copy))
        try:
            vacuum.execute("VACUUM")
        finally:
            vacuum.close()
        return copy.read_bytes()


def merge_result(db_url: str, course_id: str, result: SubmissionResult) -> None:
    """Record ``result`` in the gradebook at ``db_url`` (creating the student and submission)."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    with Gradebook(db_url, course_id) as gradebook, warnings.catch_warnings():
        # nbgrader's update_or_create_submission trips SQLAlchemy's autoflush warning; it is harmless.
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(result.student)
        extra = {"timestamp": result.timestamp} if result.timestamp is not None else {}
        submission = gradebook.update_or_create_submission(result.assignment, result.student, **extra)
        by_name = {notebook.name: notebook for notebook in result.notebooks}
        flagged = flagged_notebooks(result, [notebook.name for notebook in submission.notebooks])
        for notebook in submission.notebooks:
            # A failed grading may have left partial scores behind; they are not to be trusted.
            graded = by_name.get(notebook.name) if result.status != FAILED else None
            for grade in notebook.grades:
                if graded is not None and grade.name in graded.grades:
                    values = graded.grades[grade.name]
                    grade.auto_score = values["auto_score"]
                    grade.needs_manual_grade = values["needs_manual_grade"]
                else:  # not graded at all (the grading failed): zero, and ask for a human
                    grade.auto_score = 0
                    grade.needs_manual_grade = result.status == FAILED
            for comment in notebook.comments:
                if graded is not None and comment.name in graded.comments:
                    comment.auto_comment = graded.comments[comment.name]
            if graded is not None:
                notebook.late_submission_penalty = graded.late_penalty
            notebook.flagged = notebook.name in flagged
        gradebook.db.commit()
        try:
            gradebook.find_submission(result.assignment, result.student)
        except MissingEntry as error:  # pragma: no cover - nbgrader just created it
            raise RuntimeError(f"submission of {result.student} missing after merge") from error


def flagged_notebooks(result: SubmissionResult, names: list[str]) -> set[str]:
    """The notebooks the formgrader should show as flagged: those a reason names (all if none is named)."""
    if result.status not in (FLAGGED, FAILED):
        return set()
    if result.status == FAILED:
        return set(names)
    named = {
        name
        for name in names
        if any(reason.startswith((f"{name}:", f"{name}.ipynb")) for reason in result.reasons)
    }
    return named or set(names)


def write_autograded(autograded_dir, result: SubmissionResult) -> Path:
    """Replace ``autograded/<student>/<assignment>/`` with the worker's files, atomically.

    A result without files (the grading failed) removes an earlier run's folder, so that feedback
    is never generated from stale notebooks.
    """
    target = Path(autograded_dir) / result.student / result.assignment
    if not result.autograded_files:
        shutil.rmtree(target, ignore_errors=True)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=target.parent))
    for relative, data in result.autograded_files.items():
        path = (staging / relative).resolve()
        if staging.resolve() not in path.parents:
            raise ValueError(f"refusing autograded file outside the folder: {relative!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.chmod(path, 0o644)
    if target.exists():
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(target)
    return target
