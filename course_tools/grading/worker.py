"""Grade one submission, self-contained, in a private course copy.

A :class:`GradingJob` carries everything the grading needs as bytes (the submission, the source
folder's data files, a gradebook holding only the assignment), so the same function runs in a
local process pool or on any Dask worker with the same Python environment, and never touches the
course directory. It runs nbgrader's own ``autograde`` on the copy, with
:class:`~course_tools.grading.execute.GuardedExecute` in place of ``Execute``, and returns a
:class:`SubmissionResult`: the grades read back from the private gradebook, the autograded files,
and a status with reasons. It never raises: any failure becomes ``status="failed"`` with a reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from course_tools.grading.limits import Limits

GRADED, FLAGGED, FAILED = "graded", "flagged", "failed"
#: How long past its notebooks' time limits a job may run before the worker kills its kernels.
WATCHDOG_GRACE = 120


@dataclass
class GradingJob:
    student: str
    assignment: str
    course_id: str
    files: dict[str, bytes]
    source_files: dict[str, bytes]
    template_db: bytes
    limits: Limits
    submission_hash: str
    nbgrader_config: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # found by the parent while collecting the files
    state_dir: str = ""  # where the worker records that it started (local pool only)


@dataclass
class NotebookResult:
    name: str
    grades: dict[str, dict]  # grade cell -> auto_score, needs_manual_grade
    comments: dict[str, str | None]  # solution cell -> auto_comment
    late_penalty: float | None
    graded: bool  # false when missing or unreadable (scored 0 without running)


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    submission_hash: str
    status: str
    reasons: list[str]
    notebooks: list[NotebookResult] = field(default_factory=list)
    timestamp: datetime | None = None
    autograded_files: dict[str, bytes] = field(default_factory=dict)
    sandbox: str = ""
    elapsed: float = 0.0
    log_tail: str = ""


def _write_tree(folder: Path, files: dict[str, bytes]) -> None:
    for relative, data in files.items():
        target = (folder / relative).resolve()
        if folder.resolve() not in target.parents:
            raise ValueError(f"refusing file outside the submission: {relative!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _read_tree(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def nbgrader_config(job: GradingJob, root: Path, events_path: Path):
    """The configuration of the private autograde run."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )
    from traitlets.config import Config

    from course_tools.grading.execute import GuardedExecute
    from course_tools.grading.sanitize import sanitize_preprocessors

    config = Config(job.nbgrader_config)
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = job.course_id
    config.CourseDirectory.source_directory = "source"
    config.CourseDirectory.release_directory = "release"
    config.CourseDirectory.submitted_directory = "submitted"
    config.CourseDirectory.autograded_directory = "autograded"
    config.CourseDirectory.feedback_directory = "feedback"
    config.CourseDirectory.db_url = "sqlite:///" + str(root / "gradebook.db")
    config.Autograde.sanitize_preprocessors = sanitize_preprocessors()
    config.Autograde.autograde_preprocessors = [
        GuardedExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    # A deleted test cell is put back and run, so deleting a test cannot earn its points.
    config.OverwriteCells.add_missing_cells = True
    limits = job.limits
    config.Execute.timeout = limits.cell_timeout
    config.Execute.interrupt_on_timeout = True
    config.Execute.iopub_timeout = 10
    config.GuardedExecute.timeout = limits.cell_timeout
    config.GuardedExecute.notebook_timeout = limits.notebook_timeout
    config.GuardedExecute.max_output_bytes = limits.max_output_bytes
    config.GuardedExecute.events_path = str(events_path)
    config.SandboxedKernelManager.sandbox_mode = limits.sandbox
    config.SandboxedKernelManager.memory_limit = limits.memory_bytes
    config.SandboxedKernelManager.runtime_root = str(root.parent)
    return config


def _read_grades(db_url: str, course_id: str, job: GradingJob, graded_names: set[str]):
    from nbgrader.api import Gradebook, MissingEntry

    notebooks, timestamp = [], None
    with Gradebook(db_url, course_id) as gradebook:
        try:
            submission = gradebook.find_submission(job.assignment, job.student)
        except MissingEntry:
            return notebooks, timestamp
        timestamp = submission.timestamp
        for notebook in submission.notebooks:
            grades = {
                grade.name: {
                    "auto_score": grade.auto_score,
                    "needs_manual_grade": bool(grade.needs_manual_grade),
                }
                for grade in notebook.grades
            }
            comments = {comment.name: comment.auto_comment for comment in notebook.comments}
            notebooks.append(
                NotebookResult(
                    notebook.name,
                    grades,
                    comments,
                    notebook.late_submission_penalty,
                    notebook.name in graded_names,
                )
            )
    return notebooks, timestamp


class _Watchdog:
    """Kill this job's kernels if it overruns; the grader then finishes the notebook as 'kernel died'."""

    def __init__(self, seconds: float, scope: str):
        self.scope = scope  # the job's scratch folder: only kernels whose sockets live there are killed
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self.fired = False

    def __enter__(self):
        self._timer.start()
        return self

    def __exit__(self, *exc):
        self._timer.cancel()

    def _fire(self):
        import gc
        import signal

        from course_tools.grading.sandbox import SandboxedKernelManager

        self.fired = True
        for item in gc.get_objects():
            if (
                isinstance(item, SandboxedKernelManager)
                and item.kernel_pid
                and item.runtime_root == self.scope
            ):
                with contextlib.suppress(OSError):
                    os.killpg(item.kernel_pid, signal.SIGKILL)


def warm_up() -> None:
    """Import what grading needs (about 5 s of CPU), once per worker process rather than in a job."""
    import jupyter_client.manager  # noqa: F401
    import nbclient  # noqa: F401
    import nbgrader.converters  # noqa: F401
    import nbgrader.preprocessors  # noqa: F401

    import course_tools.grading.checks  # noqa: F401
    import course_tools.grading.execute  # noqa: F401
    import course_tools.grading.sanitize  # noqa: F401


def grade_submission(job: GradingJob) -> SubmissionResult:
    """Autograde ``job`` in a private course copy; never raises."""
    started = time.monotonic()
    result = SubmissionResult(job.student, job.assignment, job.submission_hash, FAILED, list(job.notes))
    if job.state_dir:
        Path(job.state_dir, f"{job.student}.started").write_text(str(os.getpid()))
    scratch = Path(tempfile.mkdtemp(prefix=f"grade-{job.student[:20]}-"))
    try:
        with warnings.catch_warnings():
            # nbgrader's own use of SQLAlchemy and nbformat warns on every submission; the
            # warnings say nothing about the student's work.
            warnings.simplefilter("ignore")
            _grade_into(job, scratch, result)
    except Exception as error:  # the batch must go on: report, do not raise
        result.status = FAILED
        result.reasons.append(f"grading failed: {type(error).__name__}: {error}")
        result.log_tail = traceback.format_exc()[-2000:]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        result.elapsed = time.monotonic() - started
    return result


def _grade_into(job: GradingJob, scratch: Path, result: SubmissionResult) -> None:
    from nbgrader.coursedir import CourseDirectory

    from course_tools.grading import checks
    from course_tools.grading.course import run_nbgrader_step
    from course_tools.grading.sandbox import check_mode

    support = check_mode(job.limits.sandbox)
    result.sandbox = support.describe(job.limits.sandbox)
    root = scratch / "course"
    submitted = root / "submitted" / job.student / job.assignment
    _write_tree(root / "source" / job.assignment, job.source_files)
    _write_tree(submitted, job.files)
    (root / "gradebook.db").write_bytes(job.template_db)
    db_url = "sqlite:///" + str(root / "gradebook.db")

    expected = checks.source_cells(db_url, job.course_id, job.assignment)
    inspection = checks.inspect_submission(submitted, expected)
    result.reasons.extend(inspection.findings)
    for (
        name
    ) in inspection.unreadable:  # nbgrader treats a missing notebook as zero; an unreadable one sinks all
        (submitted / f"{name}.ipynb").unlink()
    graded_names = set(expected) - set(inspection.missing) - set(inspection.unreadable)

    events_path = scratch / "events.jsonl"
    config = nbgrader_config(job, root, events_path)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = job.assignment, job.student
    budget = job.limits.notebook_timeout * max(1, len(graded_names)) + WATCHDOG_GRACE
    if graded_names:
        with _Watchdog(budget, str(scratch)) as watchdog:
            outcome = run_nbgrader_step("autograde", config, coursedir, force=True, create_student=True)
        if watchdog.fired:
            result.reasons.append(f"grading overran {budget} s: the kernel was killed")
    else:  # nothing nbgrader could run: record the submission with zero scores
        outcome = _record_empty_submission(db_url, job)
    result.log_tail = (outcome.get("log") or "")[-2000:]
    if events_path.exists():
        for line in events_path.read_text().splitlines():
            event = json.loads(line)
            result.reasons.append(f"{event['notebook']}: cell '{event['cell']}': {event['detail']}")
    autograded = root / "autograded" / job.student / job.assignment
    for path in sorted(autograded.glob("*.ipynb")):
        result.reasons.extend(checks.sandbox_findings(path))
    result.autograded_files = _read_tree(autograded)
    result.notebooks, result.timestamp = _read_grades(db_url, job.course_id, job, graded_names)
    if not outcome.get("success"):
        result.status = FAILED
        result.reasons.append("nbgrader autograde failed: " + _error_line(outcome))
        return
    result.status = FLAGGED if result.reasons else GRADED


def _error_line(outcome: dict) -> str:
    """The most telling line of a failed nbgrader run: its innermost exception."""
    lines = ((outcome.get("log") or "") + "\n" + (outcome.get("error") or "")).splitlines()
    for line in reversed(lines):
        text = line.strip()
        head = text.split(":", 1)[0]
        if head.endswith(("Error", "Exception", "Interrupt")) and "NbGraderException" not in head:
            return text[:300]
    return next((line.strip() for line in reversed(lines) if line.strip()), "no detail")[:300]


def _record_empty_submission(db_url: str, job: GradingJob) -> dict:
    """A submission without one gradable notebook: a row with zero scores, like nbgrader's missing case."""
    from nbgrader.api import Gradebook

    with Gradebook(db_url, job.course_id) as gradebook:
        gradebook.update_or_create_student(job.student)
        submission = gradebook.update_or_create_submission(job.assignment, job.student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False
        gradebook.db.commit()
    return {"success": True, "log": "no gradable notebook: every notebook scored 0"}
