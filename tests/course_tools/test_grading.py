"""Grading end to end on the toy assignment: the bad-submission corpus, export, feedback, re-runs,
an interrupted run, Dask, and agreement with plain nbgrader.

The corpus is graded once (through the ``course grade`` command, two workers) and every check reads
that run. All tests here share the CPU-heavy fixtures, so they run in one xdist group.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from course_tools.cli import main as course_main
from course_tools.grading import corpus
from course_tools.grading.course import Course
from course_tools.grading.reports import read_csv
from course_tools.grading.runner import grade_assignment
from course_tools.grading.sandbox import probe_sandbox
from course_tools.grading.worker import Limits
from course_tools.notebook_format import generate_release

from support.courses import REPO

pytestmark = pytest.mark.xdist_group("grading")

LIMITS = Limits(cell_timeout=5, notebook_timeout=40, memory_bytes=2**30)
GRADE_OPTIONS = ["--cell-timeout", "5", "--notebook-timeout", "40", "--memory-limit", "1G", "--no-progress"]


@pytest.fixture(scope="module", autouse=True)
def _sandbox_available():
    support = probe_sandbox()
    if not support.complete:
        pytest.fail(
            "the grading sandbox is incomplete here: " + support.describe() + " (apt-get install bubblewrap)"
        )


@pytest.fixture(autouse=True)
def _nbgrader_on_path(monkeypatch):
    """nbgrader runs ``alembic`` from PATH."""
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])


class _Listener:
    """A TCP server on the host's loopback that records every connection it gets."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


def _cases_with_port(port: int):
    """The corpus, with the network case aimed at ``port`` on the host."""
    cases = []
    for case in corpus.CORPUS:
        if case.student == "network":
            case = corpus.Case(
                case.student,
                lambda root, port=port: corpus.notebook_files(
                    corpus.answered(root, {"squares": corpus.network_code(port)})
                ),
                case.status,
                case.reason,
                case.score,
            )
        cases.append(case)
    return cases


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The toy course with the whole corpus submitted, graded once by ``course grade --workers 2``."""
    root = corpus.make_toy_course(tmp_path_factory.mktemp("corpus") / "course", cell_timeout=5)
    listener = _Listener()
    try:
        cases = corpus.submit_corpus(root, _cases_with_port(listener.port))
        submitted = {case.student: corpus.submitted_files(root, case.student) for case in cases}
        protected = {
            path: path.read_bytes()
            for path in [root / "solutions" / "toy" / "squares.ipynb", root / "gradebook.db"]
        }
        summary_path = root / "summary.json"
        code = course_main(
            [
                "grade",
                "--course-dir",
                str(root),
                "--workers",
                "2",
                "--json",
                str(summary_path),
                *GRADE_OPTIONS,
            ]
        )
    finally:
        listener.close()
    summary = json.loads(summary_path.read_text())
    rows = {row["student"]: row for row in summary["rows"]}
    return {
        "root": root,
        "code": code,
        "rows": rows,
        "cases": cases,
        "submitted": submitted,
        "protected": protected,
        "connections": listener.connections,
    }


def test_the_batch_finishes_with_no_failure(graded):
    assert graded["code"] == 0, graded["rows"]
    assert set(graded["rows"]) == {case.student for case in corpus.CORPUS}


@pytest.mark.parametrize("case", corpus.CORPUS, ids=lambda case: case.student)
def test_each_bad_submission_gets_its_verdict_and_reason(graded, case):
    row = graded["rows"][case.student]
    assert row["status"] == case.status, row
    if case.reason:
        assert any(case.reason in reason for reason in row["reasons"]), row["reasons"]
    else:
        assert row["reasons"] == [], row["reasons"]
    assert row["score"] == pytest.approx(case.score), row
    assert row["max_score"] == pytest.approx(corpus.TOY_MAX_SCORE)


def test_the_sandbox_kept_everything_outside_the_submission_untouched(graded):
    root = graded["root"]
    assert not (root / "hacked.txt").exists()
    for path, data in graded["protected"].items():
        if path.suffix == ".ipynb":
            assert path.read_bytes() == data, f"{path} changed"
    for student, files in graded["submitted"].items():
        assert corpus.submitted_files(root, student) == files, f"submission of {student} changed"
    connection = sqlite3.connect(str(root / "gradebook.db"))
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()
    assert graded["connections"] == 0, "a kernel reached a server on the host's loopback"


def test_flagged_notebooks_are_flagged_in_the_gradebook(graded):
    from nbgrader.api import Gradebook

    course = Course.load(graded["root"])
    with Gradebook(course.db_url, course.course_id) as gradebook:
        flags = {
            (notebook.student.id, notebook.name): notebook.flagged
            for notebook in gradebook.find_assignment("toy").notebooks[0].submissions
        }
        flags.update(
            {
                (notebook.student.id, notebook.name): notebook.flagged
                for notebook in gradebook.find_assignment("toy").notebooks[1].submissions
            }
        )
    assert flags[("kernel-killed", "squares")] is True
    assert flags[("kernel-killed", "stats")] is False
    assert flags[("missing-notebook", "stats")] is True
    assert not any(flag for (student, _), flag in flags.items() if student == "good")


def test_every_student_has_a_row_in_the_export(graded):
    root = graded["root"]
    assert course_main(["export", "--course-dir", str(root), "--to", "grades.csv"]) == 0
    rows = {row["student_id"]: row for row in read_csv(root / "grades.csv")}
    assert set(rows) == {case.student for case in corpus.CORPUS}
    for case in corpus.CORPUS:
        assert float(rows[case.student]["score"]) == pytest.approx(case.score), case.student


def test_feedback_writes_html_for_every_graded_notebook(graded):
    root = graded["root"]
    assert course_main(["feedback", "--course-dir", str(root)]) == 0
    page = root / "feedback" / "good" / "toy" / "squares.html"
    assert page.is_file()
    assert "test-squares" in page.read_text() or "squares(3)" in page.read_text()
    students_with_pages = {path.parts[-3] for path in (root / "feedback").glob("*/toy/*.html")}
    assert students_with_pages == {case.student for case in corpus.CORPUS}


def test_correct_submissions_get_the_marks_plain_nbgrader_gives_them_alone(graded, tmp_path):
    """Grade 'good' and 'partial' alone with plain nbgrader autograde; compare every grade cell."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    alone = corpus.make_toy_course(tmp_path / "alone", cell_timeout=5)
    for student in ("good", "partial", "hardcoded"):
        corpus.submit(alone, student, corpus.submitted_files(graded["root"], student))
    course = Course.load(alone)
    api = NbGraderAPI(course.coursedir(), config=course.config)

    def scores(db_url, course_id, student):
        with Gradebook(db_url, course_id) as gradebook:
            submission = gradebook.find_submission("toy", student)
            return {(nb.name, g.name): g.score for nb in submission.notebooks for g in nb.grades}

    batch = Course.load(graded["root"])
    for student in ("good", "partial", "hardcoded"):
        outcome = api.autograde("toy", student, force=True, create=True)
        assert outcome["success"], outcome.get("log")
        assert scores(course.db_url, course.course_id, student) == scores(
            batch.db_url, batch.course_id, student
        )


def test_a_second_run_regrades_nothing_and_a_changed_submission_only(graded):
    root = graded["root"]
    before = {p.name: p.read_text() for p in (root / ".grading" / "toy").glob("*.json")}
    summary_path = root / "rerun.json"
    assert course_main(["grade", "--course-dir", str(root), "--json", str(summary_path), *GRADE_OPTIONS]) == 0
    rows = {row["student"]: row for row in json.loads(summary_path.read_text())["rows"]}
    assert all(row["cached"] for row in rows.values())
    assert {s: (r["status"], r["score"]) for s, r in rows.items()} == {
        s: (r["status"], r["score"]) for s, r in graded["rows"].items()
    }
    after = {p.name: p.read_text() for p in (root / ".grading" / "toy").glob("*.json")}
    assert after == before

    corpus.submit(root, "partial", corpus.submitted_files(root, "good"))
    assert course_main(["grade", "--course-dir", str(root), "--json", str(summary_path), *GRADE_OPTIONS]) == 0
    rows = {row["student"]: row for row in json.loads(summary_path.read_text())["rows"]}
    assert [s for s, r in rows.items() if not r["cached"]] == ["partial"]
    assert rows["partial"]["score"] == pytest.approx(corpus.TOY_MAX_SCORE)


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in command:
            found.append(f"{entry.name}: {command[:120]}")
    return found


def test_an_interrupted_run_resumes_without_regrading_finished_ones(tmp_path):
    """Kill ``course grade`` (and its workers) while a looping submission is being graded, then resume."""
    root = corpus.make_toy_course(tmp_path / "course", cell_timeout=5)
    corpus.submit(root, "blank", corpus.case("blank").build(root))
    corpus.submit(root, "infinite", corpus.case("infinite-loop").build(root))
    corpus.submit(root, "partial", corpus.case("partial").build(root))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    command = [
        str(Path(sys.executable).parent / "course"),
        "grade",
        "--course-dir",
        str(root),
        *GRADE_OPTIONS,
    ]
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    markers = root / ".grading" / "toy"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not (markers / "blank.json").exists():
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    finished = {p.stem: p.read_text() for p in markers.glob("*.json")}
    assert "blank" in finished and "partial" not in finished, "the run was not interrupted half-way"
    time.sleep(3)
    assert _processes_mentioning(str(scratch)) == [], "a kernel outlived the killed grading run"

    summary = grade_assignment(Course.load(root), "toy", limits=LIMITS, workers=2, progress=False)
    assert {row.student for row in summary.rows} == {"blank", "infinite", "partial"}
    for student, text in finished.items():
        assert summary.row(student).cached, f"{student} was graded again"
        assert (markers / f"{student}.json").read_text() == text
    assert not summary.row("partial").cached
    assert summary.row("partial").score == pytest.approx(corpus.case("partial").score)
    assert summary.row("infinite").status == "flagged"


def _gradebook_snapshot(root) -> dict:
    from nbgrader.api import Gradebook

    course = Course.load(root)
    snapshot = {}
    with Gradebook(course.db_url, course.course_id) as gradebook:
        for student in gradebook.students:
            submission = gradebook.find_submission("toy", student.id)
            for notebook in submission.notebooks:
                snapshot[(student.id, notebook.name, "flagged")] = notebook.flagged
                for grade in notebook.grades:
                    snapshot[(student.id, notebook.name, grade.name)] = (
                        grade.auto_score,
                        grade.needs_manual_grade,
                    )
    return snapshot


def test_dask_cluster_gives_the_same_gradebook_as_a_local_run(tmp_path):
    from distributed import LocalCluster

    names = {"good", "kernel-killed", "invalid-json"}
    roots = []
    for label in ("local", "dask"):
        root = corpus.make_toy_course(tmp_path / label, cell_timeout=5)
        corpus.submit_corpus(root, [case for case in corpus.CORPUS if case.student in names])
        roots.append(root)
    local = grade_assignment(Course.load(roots[0]), "toy", limits=LIMITS, workers=2, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        code = course_main(
            ["grade", "--course-dir", str(roots[1]), "--scheduler", cluster.scheduler_address, *GRADE_OPTIONS]
        )
    assert code == 0
    assert local.ok
    assert _gradebook_snapshot(roots[1]) == _gradebook_snapshot(roots[0])
    assert len(_gradebook_snapshot(roots[0])) > 0


def test_grading_refuses_to_run_without_the_sandbox_it_was_asked_for(tmp_path, monkeypatch):
    from course_tools.grading import sandbox

    root = corpus.make_toy_course(tmp_path / "course", cell_timeout=5)
    corpus.submit(root, "good", corpus.case("good").build(root))
    crippled = sandbox.SandboxSupport(None, None, False, False, False, False, ("bwrap not found",))
    monkeypatch.setattr(sandbox, "probe_sandbox", lambda: crippled)
    code = course_main(["grade", "--course-dir", str(root), *GRADE_OPTIONS])
    assert code == 2
    assert not (root / ".grading" / "toy" / "good.json").exists()


def test_a_real_course_notebook_grades_in_the_sandbox(tmp_path):
    """TensorFlow imports and trains under the memory limit, without network, from a private copy."""
    folder = REPO / "solutions" / "learning-rate"
    first = sorted(folder.glob("01_*.ipynb"))
    assert first, f"the course's first notebook (01_*.ipynb) is missing from {folder}"
    source = first[0]
    root = tmp_path / "course"
    (root / "solutions" / "learning-rate").mkdir(parents=True)
    shutil.copy(source, root / "solutions" / "learning-rate" / source.name)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    generate_release(root / "solutions", root / "notebooks", config_file=root / "nbgrader_config.py")
    corpus.submit(root, "solution", {source.name: source.read_bytes()}, assignment="learning-rate")
    limits = Limits(cell_timeout=120, notebook_timeout=300, memory_bytes=4 * 2**30)
    summary = grade_assignment(Course.load(root), "learning-rate", limits=limits, progress=False)
    solution = summary.row("solution")
    assert solution.status == "graded", solution.reasons
    assert solution.score == pytest.approx(solution.max_score) and solution.max_score > 0
