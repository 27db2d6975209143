"""Fast checks of the grading pieces: the checks, the sandbox wiring, the bundle, the CLI options."""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_tools.cli import build_parser
from course_tools.cli import grading as grading_cli
from course_tools.grading import checks, corpus, sandbox
from course_tools.grading.bundle import build_student_bundle, bundle_members, student_pyproject
from course_tools.grading.course import Course, hash_tree
from course_tools.grading.merge import flagged_notebooks
from course_tools.grading.runner import Row, RunSummary, collect_submission, submission_hash, summary_table
from course_tools.grading.worker import FAILED, FLAGGED, GRADED, SubmissionResult

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- checks


def test_visible_text_drops_hidden_tests_and_blank_lines():
    source = "assert f(1) == 1\n\n### BEGIN HIDDEN TESTS\nassert f(2) == 4\n### END HIDDEN TESTS\n"
    assert checks.visible_text(source) == "assert f(1) == 1"
    assert checks.visible_text("assert f(1) == 1  \n") == "assert f(1) == 1"
    assert checks.visible_text("pass") != checks.visible_text(source)


@pytest.mark.parametrize(
    ("ename", "evalue", "expected"),
    [
        ("MemoryError", "", "memory"),
        ("OSError", "[Errno 101] Network is unreachable", "network"),
        ("ConnectionRefusedError", "[Errno 111] Connection refused", "network"),
        ("gaierror", "[Errno -3] Temporary failure in name resolution", "network"),
        ("OSError", "[Errno 30] Read-only file system: '/usr/x'", "write outside"),
        ("FileNotFoundError", "No such file: '/course/solutions/a.ipynb'", "instructor"),
        ("FileNotFoundError", "No such file: '/course/gradebook.db'", "instructor"),
        ("FileNotFoundError", "No such file: 'data.csv'", None),
        ("NotImplementedError", "", None),
        ("AssertionError", "squares(3) should be [0, 1, 4]", None),
    ],
)
def test_classify_error_names_what_the_sandbox_blocked(ename, evalue, expected):
    verdict = checks.classify_error(ename, evalue)
    if expected is None:
        assert verdict is None
    else:
        assert expected in verdict


def _expected_cells():
    return {
        "nb": [
            checks.SourceCell("answer", "code", False, None, False, True, "def f(x):\n    return x"),
            checks.SourceCell(
                "test", "code", True, "x", True, False, "assert f(1) == 1\n### BEGIN HIDDEN TESTS\n"
            ),
        ]
    }


def _notebook(cells) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    for cell_type, grade_id, source, locked in cells:
        make = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
        cell = make(source)
        cell.metadata["nbgrader"] = {
            "grade_id": grade_id,
            "grade": grade_id == "test",
            "solution": grade_id == "answer",
            "locked": locked,
            "points": 1,
            "schema_version": 3,
        }
        notebook.cells.append(cell)
    return notebook


def test_inspection_finds_edited_deleted_retyped_duplicated_and_renamed(tmp_path):
    good = _notebook(
        [("code", "answer", "def f(x):\n    return x", False), ("code", "test", "assert f(1) == 1", True)]
    )
    nbformat.write(good, str(tmp_path / "nb.ipynb"))
    assert checks.inspect_submission(tmp_path, _expected_cells()).findings == []

    edited = _notebook([("code", "answer", "", False), ("code", "test", "pass", True)])
    nbformat.write(edited, str(tmp_path / "nb.ipynb"))
    assert any(
        "'test' was edited" in f for f in checks.inspect_submission(tmp_path, _expected_cells()).findings
    )

    retyped = _notebook([("code", "answer", "", False), ("markdown", "test", "assert f(1) == 1", True)])
    nbformat.write(retyped, str(tmp_path / "nb.ipynb"))
    found = checks.inspect_submission(tmp_path, _expected_cells()).findings
    assert any("changed from code to markdown" in f for f in found)

    deleted = _notebook([("code", "answer", "", False)])
    nbformat.write(deleted, str(tmp_path / "nb.ipynb"))
    assert any(
        "'test' was deleted" in f for f in checks.inspect_submission(tmp_path, _expected_cells()).findings
    )

    doubled = _notebook([("code", "answer", "", False), ("code", "test", "assert f(1) == 1", True)] * 2)
    nbformat.write(doubled, str(tmp_path / "nb.ipynb"))
    found = checks.inspect_submission(tmp_path, _expected_cells()).findings
    assert any("'answer' appears 2 times" in f for f in found)

    (tmp_path / "nb.ipynb").rename(tmp_path / "nb-final.ipynb")
    inspection = checks.inspect_submission(tmp_path, _expected_cells())
    assert inspection.missing == ["nb"] and inspection.extra == ["nb-final"]
    assert any("found nb-final.ipynb instead (renamed?)" in f for f in inspection.findings)


def test_inspection_reports_invalid_json_and_non_notebooks(tmp_path):
    (tmp_path / "nb.ipynb").write_text('{"cells": [')
    inspection = checks.inspect_submission(tmp_path, _expected_cells())
    assert "not valid JSON" in inspection.unreadable["nb"]
    (tmp_path / "nb.ipynb").write_text('{"hello": 1}')
    inspection = checks.inspect_submission(tmp_path, _expected_cells())
    assert "not a notebook" in inspection.unreadable["nb"]


# ---------------------------------------------------------------------- collecting and hashing


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


def test_hash_tree_changes_with_content_and_names(tmp_path):
    (tmp_path / "a.txt").write_text("1")
    first = hash_tree(tmp_path)
    (tmp_path / "a.txt").write_text("2")
    second = hash_tree(tmp_path)
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    assert len({first, second, hash_tree(tmp_path)}) == 3


# ---------------------------------------------------------------------- merging and summary


def test_flagged_notebooks_follow_the_reasons():
    result = SubmissionResult("s", "a", "h", FLAGGED, ["squares: cell 'x': the kernel died"])
    assert flagged_notebooks(result, ["squares", "stats"]) == {"squares"}
    result.reasons = ["stats.ipynb is missing: scored 0"]
    assert flagged_notebooks(result, ["squares", "stats"]) == {"stats"}
    result.reasons = ["something about the whole submission"]
    assert flagged_notebooks(result, ["squares", "stats"]) == {"squares", "stats"}
    result.status = GRADED
    assert flagged_notebooks(result, ["squares"]) == set()
    result.status = FAILED
    assert flagged_notebooks(result, ["squares", "stats"]) == {"squares", "stats"}


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


# ---------------------------------------------------------------------- sandbox wiring


def test_kernel_command_wraps_in_bwrap_with_a_private_view():
    support = sandbox.SandboxSupport("/usr/bin/bwrap", "/usr/bin/prlimit", True, True, True, True)
    command = sandbox.kernel_command(
        ["python", "-m", "ipykernel_launcher", "-f", "/run/k/kernel.json"],
        workdir="/tmp/grade/course/autograded/s/a",
        runtime_dir="/run/k",
        mode="require",
        memory_bytes=2**30,
        support=support,
        environment={"NBGRADER_EXECUTION": "autograde"},
    )
    guard = sandbox.parent_guard()
    assert command[: len(guard)] == guard
    command = command[len(guard) :]
    assert command[0] == "/usr/bin/bwrap"
    separator = command.index("--")
    options, inner = command[:separator], command[separator + 1 :]
    assert inner[:2] == ["/usr/bin/prlimit", f"--as={2**30}"]
    assert "--unshare-all" in options and "--share-net" not in options and "--clearenv" in options
    binds = [options[i + 1] for i, option in enumerate(options) if option == "--bind"]
    assert binds == ["/tmp/grade/course/autograded/s/a", "/run/k"]
    assert options[options.index("--chdir") + 1] == "/tmp/grade/course/autograded/s/a"
    assert "NBGRADER_EXECUTION" in options
    read_only = [options[i + 1] for i, option in enumerate(options) if option == "--ro-bind"]
    assert str(REPO) not in read_only, "the course root (solutions, gradebook) must not be visible"
    assert str(REPO / "course_utils") in read_only


def test_kernel_command_off_and_missing_support():
    bare = sandbox.SandboxSupport(None, None, False, False, False, False, ("bwrap not found",))
    command = ["python", "-m", "ipykernel_launcher"]
    assert (
        sandbox.kernel_command(
            command, workdir="/w", runtime_dir="/r", mode="off", memory_bytes=1, support=bare
        )
        == sandbox.parent_guard() + command
    )
    assert bare.missing == ("filesystem", "network", "processes", "memory")
    with pytest.raises(sandbox.SandboxUnavailable, match="bwrap not found"):
        sandbox.check_mode("require", bare)
    assert sandbox.check_mode("best-effort", bare) is bare
    with pytest.raises(ValueError, match="sandbox must be one of"):
        sandbox.check_mode("strict", bare)
    assert "OFF" in bare.describe("off") and "network NO" in bare.describe("best-effort")


def test_the_parent_guard_refuses_to_start_for_a_parent_that_is_gone(tmp_path):
    """The launcher died between fork and prctl: the guard must not run the command at all."""
    marker = tmp_path / "started"
    not_my_parent = os.getpid() + 1 if os.getppid() != os.getpid() + 1 else os.getpid() + 2
    guarded = sandbox.parent_guard(not_my_parent) + ["touch", str(marker)]
    assert subprocess.run(guarded, timeout=30).returncode == 70
    assert not marker.exists()
    assert subprocess.run(sandbox.parent_guard() + ["touch", str(marker)], timeout=30).returncode == 0
    assert marker.exists()


@pytest.mark.parametrize("mode", ["off", "require"])
def test_a_sandboxed_command_dies_with_the_process_that_launched_it(tmp_path, mode):
    """SIGKILL the launcher (no clean-up runs): what it started through the sandbox must die too."""
    support = sandbox.probe_sandbox()
    if mode == "require" and not support.complete:
        pytest.fail("sandbox incomplete: " + support.describe() + " (apt-get install bubblewrap)")
    pid_file = tmp_path / "child.pid"
    launcher = (
        "import subprocess, sys, time\n"
        "from course_tools.grading import sandbox\n"
        "command = sandbox.kernel_command(['sleep', '600'], workdir=sys.argv[1], runtime_dir=sys.argv[1],\n"
        "    mode=sys.argv[2], memory_bytes=None, support=sandbox.probe_sandbox())\n"
        "child = subprocess.Popen(command, start_new_session=True)\n"
        "open(sys.argv[3], 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", launcher, str(tmp_path), mode, str(pid_file)])
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and parent.poll() is None, "the launcher did not start its child"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    time.sleep(0.5)
    assert _alive(child), "the guarded command should run while its launcher lives"
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"{mode}: the command outlived its killed launcher"


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped by init, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_the_sandbox_hides_the_course_and_the_network(tmp_path):
    """A real bwrap run: only the given folder is visible and writable, and there is no network."""
    support = sandbox.probe_sandbox()
    if not support.complete:
        pytest.fail("sandbox incomplete: " + support.describe() + " (apt-get install bubblewrap)")
    script = (
        "import os, socket\n"
        f"print(os.path.exists({str(REPO / 'nbgrader_config.py')!r}))\n"
        "print(sorted(name for _, name in socket.if_nameindex()))\n"
        "import course_utils; print('imported')\n"
    )
    workdir = tmp_path
    command = sandbox.kernel_command(
        [sys.executable, "-c", script],
        workdir=str(workdir),
        runtime_dir=str(workdir),
        mode="require",
        memory_bytes=2**31,
        support=support,
    )
    output = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout.split(
        "\n"
    )
    assert output[:3] == ["False", "['lo']", "imported"]


def test_cli_sandbox_modes_match_the_sandbox_module():
    assert grading_cli.SANDBOX_MODES == sandbox.SANDBOX_MODES


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4G", 4 * 2**30), ("512m", 512 * 2**20), ("1.5g", int(1.5 * 2**30)), ("none", None)],
)
def test_parse_memory(text, expected):
    assert grading_cli.parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1G", "G"])
def test_parse_memory_rejects_nonsense(text):
    with pytest.raises(argparse.ArgumentTypeError, match="memory limit"):
        grading_cli.parse_memory(text)


def test_cli_has_the_grading_commands():
    parser = build_parser()
    args = parser.parse_args(
        ["grade", "--workers", "3", "--scheduler", "tcp://h:8786", "--student", "a", "--student", "b"]
    )
    assert (args.workers, args.scheduler, args.student, args.memory_limit) == (
        3,
        "tcp://h:8786",
        ["a", "b"],
        4 * 2**30,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["grade", "--workers", "0"])
    for command in (["release"], ["export"], ["feedback"]):
        assert callable(parser.parse_args(command).func)


# ---------------------------------------------------------------------- the student bundle


@pytest.fixture(scope="module")
def toy_course(tmp_path_factory):
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    root = corpus.make_toy_course(tmp_path_factory.mktemp("bundle") / "course")
    for package in ("course_utils", "course_tools"):  # both sit in the course root, as in the repository
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, root / name)
    corpus.submit(root, "someone", corpus.case("good").build(root))
    return root


def test_student_bundle_holds_the_release_and_the_package_and_nothing_secret(toy_course, tmp_path):
    course = Course.load(toy_course)
    bundle = build_student_bundle(course, "toy", tmp_path / "student.zip")
    with zipfile.ZipFile(bundle.path) as archive:
        names = archive.namelist()
        top = "toy-course/"
        assert all(name.startswith(top) for name in names)
        for notebook in (toy_course / "notebooks" / "toy").glob("*.ipynb"):
            assert archive.read(f"{top}notebooks/toy/{notebook.name}") == notebook.read_bytes()
        assert f"{top}course_utils/__init__.py" in names and f"{top}pyproject.toml" in names
        assert not any("/course_tools/" in name for name in names), "the tooling is not for students"
        student = tomllib.loads(archive.read(f"{top}pyproject.toml").decode())
        assert student["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["course_utils"]
        assert not any(
            "/solutions/" in name or name.endswith(".db") or "/submitted/" in name for name in names
        )
        assert not any("__pycache__" in name for name in names)
        for name in names:
            if name.endswith(".ipynb"):
                text = archive.read(name).decode()
                assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    again = build_student_bundle(course, "toy", tmp_path / "again.zip")
    assert again.path.read_bytes() == bundle.path.read_bytes(), "the zip is not reproducible"


def test_bundle_refuses_solution_text_and_instructor_folders(toy_course, tmp_path):
    course = Course.load(toy_course)
    with pytest.raises(ValueError, match="belongs to the instructors"):
        bundle_members(course, "toy", include=("solutions",))
    with pytest.raises(ValueError, match="belongs to the instructors"):
        bundle_members(course, "toy", include=("course_tools",))
    leaked = toy_course / "notebooks" / "toy" / "leak.ipynb"
    shutil.copy(toy_course / "solutions" / "toy" / "squares.ipynb", leaked)
    try:
        with pytest.raises(ValueError, match="BEGIN SOLUTION"):
            build_student_bundle(course, "toy", tmp_path / "leak.zip")
    finally:
        leaked.unlink()


def test_student_pyproject_is_the_course_one_cut_down_to_the_library():
    text = (REPO / "pyproject.toml").read_text()
    course, student = tomllib.loads(text), tomllib.loads(student_pyproject(text))
    assert student["build-system"] == course["build-system"]
    assert student["project"]["dependencies"] == course["project"]["dependencies"]
    extras = dict(course["project"]["optional-dependencies"])
    del extras["instructor"]
    assert student["project"]["optional-dependencies"] == extras
    assert student["project"]["scripts"] == {"course": "course_utils.cli:main"}
    wheel = student["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["course_utils"]
    assert wheel["shared-data"] == course["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert set(student["tool"]) == {"hatch"}
    leaky = text + '\n[tool.hatch.build.targets.wheel.force-include]\n"course_tools/site" = "site"\n'
    with pytest.raises(ValueError, match="would still name course_tools"):
        student_pyproject(leaky)


def test_grading_on_a_cluster_without_dask_says_what_to_install(toy_course, monkeypatch):
    from course_tools.grading.runner import grade_assignment

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ValueError, match=r"needs Dask: pip install -e '\.\[instructor\]'"):
        grade_assignment(Course.load(toy_course), "toy", scheduler="tcp://127.0.0.1:1")


def test_course_release_regenerates_and_zips(toy_course, capsys):
    from course_tools.cli import main

    release = toy_course / "notebooks" / "toy"
    (release / "squares.ipynb").write_text("stale")
    assert main(["release", "--course-dir", str(toy_course), "--assignment", "toy"]) == 0
    assert "raise NotImplementedError" in (release / "squares.ipynb").read_text()
    zip_path = toy_course / "dist" / "toy-student.zip"
    with zipfile.ZipFile(zip_path) as archive:
        assert (
            archive.read("toy-course/notebooks/toy/squares.ipynb") == (release / "squares.ipynb").read_bytes()
        )
    assert "student bundle" in capsys.readouterr().out


def test_repository_bundle_has_no_solutions(tmp_path):
    course = Course.load(REPO)
    if not any((course.release_dir / "learning-rate").glob("*.ipynb")):
        pytest.skip("the course release is not generated yet")
    bundle = build_student_bundle(course, "learning-rate", tmp_path / "course.zip")
    assert not any("/solutions/" in name or name.endswith("gradebook.db") for name in bundle.members)
    assert any(name.endswith("course_utils/__init__.py") for name in bundle.members)
    assert not any("/course_tools/" in name for name in bundle.members)


# ---------------------------------------------------------------------- merging into the gradebook


def _grades(course: Course, student: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gradebook:
        submission = gradebook.find_submission("toy", student)
        return {
            (notebook.name, grade.name): (
                grade.auto_score,
                grade.manual_score,
                grade.needs_manual_grade,
                notebook.flagged,
            )
            for notebook in submission.notebooks
            for grade in notebook.grades
        }


def test_merge_records_results_keeps_manual_grades_and_is_idempotent(toy_course, tmp_path):
    from nbgrader.api import Gradebook

    from course_tools.grading.merge import merge_result, write_autograded
    from course_tools.grading.worker import NotebookResult

    course = Course.load(toy_course)
    failed = SubmissionResult("merged", "toy", "h1", FAILED, ["grading failed: boom"])
    merge_result(course.db_url, course.course_id, failed)
    assert set(_grades(course, "merged").values()) == {(0, None, True, True)}

    squares = NotebookResult(
        "squares",
        {
            "test-squares": {"auto_score": 2.0, "needs_manual_grade": False},
            "test-mean": {"auto_score": 0.0, "needs_manual_grade": False},
        },
        {},
        None,
        True,
    )
    stats = NotebookResult(
        "stats", {"test-total": {"auto_score": 1.0, "needs_manual_grade": False}}, {}, None, True
    )
    graded = SubmissionResult("merged", "toy", "h2", FLAGGED, ["squares: cell 'mean': x"], [squares, stats])
    merge_result(course.db_url, course.course_id, graded)
    first = _grades(course, "merged")
    assert first[("squares", "test-squares")] == (2.0, None, False, True)
    assert first[("stats", "test-total")] == (1.0, None, False, False)

    with Gradebook(course.db_url, course.course_id) as gradebook:
        gradebook.find_grade("test-mean", "squares", "toy", "merged").manual_score = 1.5
        gradebook.db.commit()
    merge_result(course.db_url, course.course_id, graded)
    merge_result(course.db_url, course.course_id, graded)
    again = _grades(course, "merged")
    assert again[("squares", "test-mean")] == (0.0, 1.5, False, True), "a manual grade was lost"
    assert {k: v for k, v in again.items() if k != ("squares", "test-mean")} == {
        k: v for k, v in first.items() if k != ("squares", "test-mean")
    }

    graded.autograded_files = {"squares.ipynb": b"{}"}
    folder = write_autograded(tmp_path / "autograded", graded)
    assert (folder / "squares.ipynb").read_bytes() == b"{}"
    graded.autograded_files = {}
    write_autograded(tmp_path / "autograded", graded)
    assert not folder.exists(), "stale autograded notebooks would feed stale feedback"
