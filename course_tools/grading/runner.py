"""Grade every submission of an assignment: in parallel, resumable, never stopping on a bad one.

The expensive part (running each submission's notebooks in the sandbox) goes to a local process
pool or, given a scheduler address, to a Dask distributed cluster; the parent merges each finished
result into the one gradebook, serially, and then records a marker holding the hash of the
submission and of the assignment's source. A later run skips every submission whose marker still
matches and whose grades are in the gradebook, so an interrupted run resumes where it stopped and
a finished one is idempotent. A submission is graded again when it changes, when the source
changes, when its last grading failed, or with ``force``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

from tqdm.auto import tqdm

from course_tools.grading.course import Course, assignment_in_gradebook, sync_gradebook
from course_tools.grading.merge import merge_result, template_gradebook, write_autograded
from course_tools.grading.sandbox import check_mode
from course_tools.grading.worker import (
    FAILED,
    FLAGGED,
    GRADED,
    GradingJob,
    Limits,
    SubmissionResult,
    grade_submission,
    warm_up,
)

#: Files that never belong to a submission.
_SKIPPED_PARTS = {".ipynb_checkpoints", "__pycache__"}
#: A submission larger than this is not sent to a worker.
MAX_SUBMISSION_BYTES = 200 * 2**20
#: How often a submission may take its grading process down before it counts as failed.
MAX_CRASHES = 2


@dataclass
class Row:
    """One student's line in the summary."""

    student: str
    status: str
    reasons: list[str] = field(default_factory=list)
    score: float = 0.0
    max_score: float = 0.0
    cached: bool = False
    elapsed: float = 0.0


@dataclass
class RunSummary:
    assignment: str
    sandbox: str
    rows: list[Row]
    elapsed: float
    workers: str

    def count(self, status: str) -> int:
        return sum(row.status == status for row in self.rows)

    @property
    def ok(self) -> bool:
        return self.count(FAILED) == 0

    def row(self, student: str) -> Row:
        return next(row for row in self.rows if row.student == student)


# ---------------------------------------------------------------------- collecting submissions


def discover_students(course: Course, assignment: str) -> list[str]:
    """Students with a ``submitted/<student>/<assignment>/`` folder, sorted."""
    if not course.submitted_dir.is_dir():
        return []
    return sorted(
        path.parent.name
        for path in course.submitted_dir.glob(f"*/{assignment}")
        if path.is_dir() and not path.parent.name.startswith(".")
    )


def collect_submission(folder: Path) -> tuple[dict[str, bytes], list[str]]:
    """The submission's regular files by relative path, and notes on what was left out.

    Symbolic links are never followed: one pointing at ``solutions/`` would otherwise be copied in.
    """
    files, notes, total = {}, [], 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_PARTS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink() or not path.is_file():
                notes.append(f"{relative} is a symbolic link or special file: ignored")
                continue
            size = path.stat().st_size
            if total + size > MAX_SUBMISSION_BYTES:
                notes.append(
                    f"{relative} ignored: the submission exceeds {MAX_SUBMISSION_BYTES // 2**20} MiB"
                )
                continue
            total += size
            files[relative] = path.read_bytes()
    return files, notes


def submission_hash(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for relative in sorted(files):
        digest.update(relative.encode() + b"\0" + hashlib.sha256(files[relative]).digest())
    return digest.hexdigest()


# ---------------------------------------------------------------------- markers


def _marker_path(state_dir: Path, student: str) -> Path:
    return state_dir / f"{student}.json"


def read_marker(state_dir: Path, student: str) -> dict | None:
    path = _marker_path(state_dir, student)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_marker(state_dir: Path, result: SubmissionResult, source_hash: str) -> None:
    record = {
        "student": result.student,
        "submission_hash": result.submission_hash,
        "source_hash": source_hash,
        "status": result.status,
        "reasons": result.reasons,
        "elapsed": round(result.elapsed, 2),
        "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "sandbox": result.sandbox,
    }
    path = _marker_path(state_dir, result.student)
    staging = path.with_suffix(".tmp")
    staging.write_text(json.dumps(record, indent=1))
    staging.replace(path)


def _has_submission(course: Course, assignment: str, student: str) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gradebook:
        try:
            gradebook.find_submission(assignment, student)
        except MissingEntry:
            return False
    return True


# ---------------------------------------------------------------------- running


class _QuietBar(tqdm):
    """A progress bar without tqdm's monitor thread (the worker processes are forked after it)."""

    monitor_interval = 0


def _failed(job: GradingJob, reason: str) -> SubmissionResult:
    return SubmissionResult(job.student, job.assignment, job.submission_hash, FAILED, [*job.notes, reason])


def _run_local(jobs: list[GradingJob], workers: int, handle) -> None:
    """A process pool; a worker that dies takes only its own submission with it (after a retry)."""
    pending = {job.student: job for job in jobs}
    crashes: Counter = Counter()
    while pending:
        broken = False
        # Fork: the workers start with nbgrader already imported (about 5 s of CPU each with
        # spawn). The parent holds no open gradebook connection and no extra thread at this point.
        context = get_context("fork" if "fork" in get_all_start_methods() else "spawn")
        size = min(workers, len(pending))
        with ProcessPoolExecutor(max_workers=size, mp_context=context, initializer=warm_up) as pool:
            futures = {pool.submit(grade_submission, job): job for job in pending.values()}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken = True
                    continue
                except Exception as error:  # pickling trouble and the like: report, go on
                    result = _failed(job, f"worker error: {type(error).__name__}: {error}")
                _clear_started(job)
                pending.pop(job.student, None)
                handle(result)
        if broken:
            for student, job in list(pending.items()):
                started = Path(job.state_dir, f"{student}.started")
                if started.exists():  # it was running when the pool broke
                    crashes[student] += 1
                    started.unlink()
                    if crashes[student] >= MAX_CRASHES:
                        pending.pop(student)
                        handle(
                            _failed(job, f"the grading process died {MAX_CRASHES} times on this submission")
                        )


def _clear_started(job: GradingJob) -> None:
    if job.state_dir:
        Path(job.state_dir, f"{job.student}.started").unlink(missing_ok=True)


def _run_dask(jobs: list[GradingJob], address: str, handle) -> None:
    """The same jobs on a Dask distributed cluster (it retries tasks whose worker died).

    Dask comes with the ``instructor`` extra and is imported here only: local grading works without it.
    """
    from distributed import Client
    from distributed import as_completed as dask_completed

    run = uuid.uuid4().hex[:8]
    with Client(address, timeout="60s") as client:
        client.run(warm_up)
        futures = {}
        for job in jobs:
            key = f"grade-{job.assignment}-{job.student}-{run}"
            futures[client.submit(grade_submission, job, key=key, pure=False)] = job
        for future in dask_completed(list(futures)):
            job = futures[future]
            try:
                result = future.result()
            except Exception as error:  # KilledWorker and friends
                result = _failed(job, f"dask task failed: {type(error).__name__}: {error}")
            future.release()
            handle(result)


def grade_assignment(
    course: Course,
    assignment: str,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    limits: Limits | None = None,
    force: bool = False,
    students: list[str] | None = None,
    progress: bool = True,
) -> RunSummary:
    """Autograde every submission of ``assignment``; see the module docstring."""
    started = time.monotonic()
    limits = limits or Limits(cell_timeout=course.cell_timeout)
    if workers < 1:
        raise ValueError(f"workers must be at least 1; got {workers}.")
    if scheduler and importlib.util.find_spec("distributed") is None:
        raise ValueError(
            "grading on a Dask cluster needs Dask: pip install -e '.[instructor]' (or run without --scheduler)"
        )
    support = check_mode(limits.sandbox)
    if course.db_path is None:
        raise ValueError(f"course grade needs an SQLite gradebook (db_url = {course.db_url!r})")
    state_dir = course.state_dir(assignment)
    state_dir.mkdir(parents=True, exist_ok=True)
    source_hash = course.source_hash(assignment)
    source_marker = state_dir / "source.sha256"
    recorded = source_marker.read_text().strip() if source_marker.exists() else None
    if not assignment_in_gradebook(course, assignment) or recorded != source_hash:
        sync_gradebook(course, assignment)
        source_marker.write_text(source_hash + "\n")
    template = template_gradebook(course.db_path)
    source_files = course.source_files(assignment)
    config = {name: section for name, section in course.config.items() if name != "CourseDirectory"}

    chosen = discover_students(course, assignment)
    if students is not None:
        unknown = sorted(set(students) - set(chosen))
        if unknown:
            raise ValueError(f"no submission of {assignment!r} for: {', '.join(unknown)}")
        chosen = [student for student in chosen if student in set(students)]

    rows: dict[str, Row] = {}
    jobs = []
    for student in chosen:
        files, notes = collect_submission(course.submitted_dir / student / assignment)
        digest = submission_hash(files)
        marker = read_marker(state_dir, student)
        finished = (
            marker is not None
            and marker.get("submission_hash") == digest
            and marker.get("source_hash") == source_hash
            and marker.get("status") in (GRADED, FLAGGED)
        )
        if not force and finished and _has_submission(course, assignment, student):
            rows[student] = Row(student, marker["status"], list(marker.get("reasons", [])), cached=True)
            continue
        jobs.append(
            GradingJob(
                student=student,
                assignment=assignment,
                course_id=course.course_id,
                files=files,
                source_files=source_files,
                template_db=template,
                limits=limits,
                submission_hash=digest,
                nbgrader_config=config,
                notes=notes,
                state_dir=str(state_dir) if scheduler is None else "",
            )
        )

    bar = _QuietBar(total=len(jobs), desc=f"grading {assignment}", unit="submission", disable=not progress)

    def handle(result: SubmissionResult) -> None:
        merge_result(course.db_url, course.course_id, result)
        write_autograded(course.autograded_dir, result)
        write_marker(state_dir, result, source_hash)
        rows[result.student] = Row(result.student, result.status, result.reasons, elapsed=result.elapsed)
        bar.set_postfix_str(f"{result.student}: {result.status}")
        bar.update()

    try:
        if jobs and scheduler:
            _run_dask(jobs, scheduler, handle)
        elif jobs:
            _run_local(jobs, workers, handle)
    finally:
        bar.close()
    _fill_scores(course, assignment, rows)
    return RunSummary(
        assignment,
        support.describe(limits.sandbox),
        [rows[student] for student in sorted(rows)],
        time.monotonic() - started,
        f"dask at {scheduler}" if scheduler else f"{workers} local worker(s)",
    )


def _fill_scores(course: Course, assignment: str, rows: dict[str, Row]) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gradebook:
        for row in rows.values():
            try:
                submission = gradebook.find_submission(assignment, row.student)
            except MissingEntry:
                continue
            row.score, row.max_score = float(submission.score), float(submission.max_score)


def summary_table(summary: RunSummary, width: int = 110) -> str:
    """The end-of-run table: one line per student, then the counts."""
    lines = [
        f"{summary.assignment}: {summary.sandbox}",
        f"{'student':<20} {'status':<8} {'score':>11}  reasons",
    ]
    for row in summary.rows:
        status = row.status + ("*" if row.cached else "")
        reasons = row.reasons or ["-"]
        first = f"{row.student:<20} {status:<8} {row.score:>5.1f}/{row.max_score:<5.1f}  "
        lines.append((first + reasons[0])[:width])
        for reason in reasons[1:]:
            lines.append((" " * len(first) + reason)[:width])
    cached = sum(row.cached for row in summary.rows)
    lines.append(
        f"graded {summary.count(GRADED)}, flagged {summary.count(FLAGGED)}, failed {summary.count(FAILED)}"
        + (f" (* = {cached} unchanged since an earlier run, not regraded)" if cached else "")
        + f"; {summary.elapsed:.0f} s on {summary.workers}"
    )
    return "\n".join(lines)


def summary_records(summary: RunSummary) -> list[dict]:
    """The rows as plain dictionaries (for JSON output)."""
    return [asdict(row) for row in summary.rows]
