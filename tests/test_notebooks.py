"""The course notebooks: canonical files, a faithful release, and real nbgrader grading.

Running a notebook is the expensive part, so every notebook runs exactly once per version: one
real ``nbgrader autograde`` of two "students" in a temporary course (``solution-key`` submits the
source notebooks, ``blank-copy`` submits the release untouched), the two in parallel, in the
kernel of a student install (the student bundle installed by pip, without the tooling or Dask).
Marks, the validator's verdicts, error kinds, stderr and the kernel's Python are all read off
those two runs.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from course_tools.notebook_format import (
    ASSIGNMENT,
    REPO_ROOT,
    check_notebook,
    generate_release,
    make_course_directory,
    nbgrader_environment,
    read_notebook,
    run_nbgrader,
)

from support.courses import COURSE_NOTEBOOKS
from support.student_install import NOT_INSTALLED, STUDENT_KERNEL

SOURCE_ROOT = REPO_ROOT / "solutions"
RELEASE_ROOT = REPO_ROOT / "notebooks"
SOURCE = SOURCE_ROOT / ASSIGNMENT
RELEASE = RELEASE_ROOT / ASSIGNMENT
SOURCE_NOTEBOOKS = sorted(path.stem for path in SOURCE.glob("*.ipynb"))
ALL_FILES = [SOURCE / f"{name}.ipynb" for name in SOURCE_NOTEBOOKS] + sorted(RELEASE.glob("*.ipynb"))
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
STUB_ERRORS = {"NotImplementedError", "NameError", "AssertionError"}
SOLUTION_STUDENT, BLANK_STUDENT = "solution-key", "blank-copy"
AUTOGRADE_TIMEOUT = 1200  # seconds for all notebooks of one student

heavy = pytest.mark.xdist_group("notebooks")


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _is_test(cell) -> bool:
    return bool(_nbgrader(cell).get("grade")) and cell.cell_type == "code"


def _is_answer(cell) -> bool:
    return bool(_nbgrader(cell).get("solution"))


def _blocks(source: str, begin: str, end: str) -> list[str]:
    return re.findall(rf"{re.escape(begin)}\n(.*?){re.escape(end)}", source, flags=re.S)


def _hidden_parts(cell) -> list[str]:
    return _blocks(cell.source, "### BEGIN SOLUTION", "### END SOLUTION") + _blocks(
        cell.source, "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
    )


def _student_names(notebook) -> set[str]:
    """Names the answer cells define at top level: a blank copy may fail with NameError on these only."""
    names = set()
    for cell in notebook.cells:
        if not (_is_answer(cell) and cell.cell_type == "code"):
            continue
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


# --------------------------------------------------------------------------- files


def test_the_course_has_its_six_notebooks_in_both_trees():
    assert list(COURSE_NOTEBOOKS) == SOURCE_NOTEBOOKS, f"solutions/{ASSIGNMENT} holds {SOURCE_NOTEBOOKS}"
    released = sorted(path.stem for path in RELEASE.glob("*.ipynb"))
    assert released == list(COURSE_NOTEBOOKS), f"notebooks/{ASSIGNMENT} holds {released}"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda path: f"{path.parent.parent.name}/{path.stem}")
def test_committed_notebooks_are_canonical_and_output_free(path):
    assert check_notebook(path) == []


@pytest.mark.parametrize("name", SOURCE_NOTEBOOKS)
def test_release_keeps_every_cell_id_of_the_source(name):
    source_ids = [cell.id for cell in read_notebook(SOURCE / f"{name}.ipynb").cells]
    release_ids = [cell.id for cell in read_notebook(RELEASE / f"{name}.ipynb").cells]
    assert release_ids == source_ids


@pytest.mark.parametrize("name", SOURCE_NOTEBOOKS)
def test_source_notebook_follows_the_template(name):
    notebook = read_notebook(SOURCE / f"{name}.ipynb")
    cells = notebook.cells
    headings = [line for cell in cells if cell.cell_type == "markdown" for line in cell.source.splitlines()]
    headings = [line for line in headings if line.startswith("#")]
    assert cells[0].source.startswith("# ") and len(cells[0].source.strip().splitlines()) >= 2, (
        "the first cell holds the title (H1) and a one-line purpose"
    )
    assert any("learning goals" in cell.source.lower() for cell in cells[:3]), (
        "a 'Learning goals' list near the top"
    )
    for required in ("## Setup", "## Summary", "## Exercises"):
        assert required in headings, f"missing the heading {required!r}"
    order = [headings.index(h) for h in ("## Setup", "## Summary", "## Exercises")]
    assert order == sorted(order), "Setup, then the sections, then Summary, then Exercises"
    numbered = [h for h in headings if re.match(r"^## \d+\. ", h)]
    assert len(numbered) >= 2, "numbered sections '## 1. ...'"

    setup = next(cell for cell in cells if cell.id == "setup-imports")
    first_lines = [line for line in setup.source.splitlines() if line and not line.startswith("#")][:2]
    assert first_lines == ["import os", 'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")'], first_lines
    for cell in cells:
        if cell.cell_type != "code" or cell.id == "setup-imports":
            continue
        tree = ast.parse(cell.source)
        imports = [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
        assert not imports, f"cell {cell.id} imports; all imports belong in setup-imports"
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "fit":
                verbose = {k.arg: k.value for k in node.keywords}.get("verbose")
                assert isinstance(verbose, ast.Constant) and verbose.value == 0, (
                    f"cell {cell.id}: fit(..., verbose=0)"
                )
        if not _nbgrader(cell) and re.search(
            r"build_\w*model\(|keras\.Sequential\(|fresh_copy\(", cell.source
        ):
            assert "set_random_seed(" in cell.source, (
                f"cell {cell.id} builds a model without set_random_seed first"
            )

    answers = [cell for cell in cells if _is_answer(cell)]
    test_cells = [cell for cell in cells if _is_test(cell)]
    assert len(answers) >= 2 and len(test_cells) >= 2, "at least two autograded exercises"
    assert sum("### BEGIN HIDDEN TESTS" in cell.source for cell in test_cells) >= 2, "hidden tests"
    for cell in test_cells:
        tree = ast.parse(cell.source)
        assert ast.get_docstring(tree, clean=False), f"test cell {cell.id} starts with a docstring"
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert):
                assert node.msg is not None, f"test cell {cell.id}: every assert says what was expected"
    exercises_at = next(i for i, cell in enumerate(cells) if cell.source.startswith("## Exercises"))
    assert all(i > exercises_at for i, cell in enumerate(cells) if _nbgrader(cell)), "exercises come last"


def test_source_notebook_2_has_the_tune_the_learning_rate_section():
    notebook = read_notebook(SOURCE / "02_sweep.ipynb")
    titles = [
        re.sub(r"^#+\s*", "", cell.source.splitlines()[0])
        for cell in notebook.cells
        if cell.source.startswith("#")
    ]
    assert "Tune the Learning Rate" in titles


# --------------------------------------------------------------------------- the release


@pytest.fixture(scope="session")
def regenerated(tmp_path_factory) -> Path:
    release_root = tmp_path_factory.mktemp("release")
    generate_release(SOURCE_ROOT, release_root)
    return release_root / ASSIGNMENT


@heavy
def test_regenerating_the_release_reproduces_notebooks_exactly(regenerated):
    committed = {
        path.relative_to(RELEASE): path.read_bytes() for path in RELEASE.rglob("*") if path.is_file()
    }
    fresh = {
        path.relative_to(regenerated): path.read_bytes() for path in regenerated.rglob("*") if path.is_file()
    }
    assert sorted(fresh) == sorted(committed), "the release holds other files than nbgrader generates"
    stale = [str(name) for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"out of date (run: course release): {stale}"


def _cell_ids(path: Path) -> list[str]:
    """The ids as the file has them (nbformat would repair missing or repeated ones on reading)."""
    return [cell.get("id") for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]


@heavy
def test_cell_ids_survive_generate_assignment(regenerated):
    """nbgrader's release keeps every cell id of solutions/, and the committed release matches it."""
    assert SOURCE_NOTEBOOKS, f"no source notebooks in solutions/{ASSIGNMENT}"
    for name in SOURCE_NOTEBOOKS:
        ids = _cell_ids(SOURCE / f"{name}.ipynb")
        assert all(ids) and len(set(ids)) == len(ids), f"{name}: missing or repeated cell ids"
        assert _cell_ids(regenerated / f"{name}.ipynb") == ids, f"nbgrader changed the cell ids of {name}"
        committed = RELEASE / f"{name}.ipynb"
        assert committed.is_file(), f"{committed} is missing: regenerate the release"
        assert _cell_ids(committed) == ids, f"the committed release of {name} has other cell ids"


@pytest.mark.parametrize("name", SOURCE_NOTEBOOKS)
def test_no_solution_or_hidden_test_text_in_the_release(name):
    source = read_notebook(SOURCE / f"{name}.ipynb")
    release_text = "\n".join(
        path.read_text(encoding="utf-8") for path in RELEASE.rglob("*") if path.is_file()
    )
    release_sources = "\n".join(
        cell.source for path in RELEASE.glob("*.ipynb") for cell in read_notebook(path).cells
    )
    for marker in MARKERS:
        assert marker not in release_text
    # Lines that only hidden parts contain; a line that is public anywhere in the course (in this or
    # another notebook, like `import numpy as np`) may appear in the release anyway.
    public = "\n".join(
        re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n.*?### END \1", "", cell.source, flags=re.S)
        for path in sorted(SOURCE.glob("*.ipynb"))
        for cell in read_notebook(path).cells
    )
    hidden_parts = [part for cell in source.cells for part in _hidden_parts(cell)]
    assert hidden_parts, "no solution or hidden test blocks found"
    for part in hidden_parts:
        for line in (line.strip() for line in part.splitlines()):
            if len(line) >= 12 and line not in public:
                assert line not in release_sources, f"hidden text leaked into notebooks/: {line!r}"


# --------------------------------------------------------------------------- grading


@dataclass
class GradedNotebook:
    notebook: nbformat.NotebookNode  # as autograde executed it, outputs included
    path: Path
    score: float
    max_score: float
    cell_scores: dict[str, tuple[float, float]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def kernel_records(tmp_path_factory) -> Path:
    """Where the student kernel records, per student, the Python that ran each notebook."""
    return tmp_path_factory.mktemp("kernel-records")


@pytest.fixture(scope="session")
def autograded(tmp_path_factory, student_install, kernel_records) -> dict[str, dict[str, GradedNotebook]]:
    """One real ``nbgrader autograde`` per student, in parallel, in temporary copies of the course.

    The notebooks run in the student install's kernel (tests/support/student_install.py): the
    bundle's ``course_utils`` installed by pip, without the tooling or Dask. So the one run of each
    notebook also shows that a student install runs it.
    """
    from nbgrader.api import Gradebook

    root = tmp_path_factory.mktemp("autograde")
    first = make_course_directory(root / SOLUTION_STUDENT, SOURCE_ROOT)
    run_nbgrader(["generate_assignment", ASSIGNMENT, "--force"], first)
    courses = {SOLUTION_STUDENT: first, BLANK_STUDENT: root / BLANK_STUDENT}
    shutil.copytree(first, courses[BLANK_STUDENT])  # its own gradebook, so the two runs never share a lock
    for student, folder in ((SOLUTION_STUDENT, SOURCE), (BLANK_STUDENT, RELEASE)):
        shutil.copytree(folder, courses[student] / "submitted" / student / ASSIGNMENT)
    command = [str(Path(sys.executable).parent / "nbgrader"), "autograde", ASSIGNMENT, "--create", "--force"]
    command.append(f"--Execute.kernel_name={STUDENT_KERNEL}")
    runs = {
        student: subprocess.Popen(
            [*command, f"--student={student}"],
            cwd=course,
            env=student_install.kernel_environment(nbgrader_environment(), kernel_records / student),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for student, course in courses.items()
    }
    results = {}
    for student, process in runs.items():
        log, _ = process.communicate(timeout=AUTOGRADE_TIMEOUT)
        assert process.returncode == 0, f"nbgrader autograde failed for {student}:\n{log[-5000:]}"
        course = courses[student]
        results[student] = {}
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            for name in SOURCE_NOTEBOOKS:
                submitted = gradebook.find_submission_notebook(name, ASSIGNMENT, student)
                path = course / "autograded" / student / ASSIGNMENT / f"{name}.ipynb"
                results[student][name] = GradedNotebook(
                    notebook=read_notebook(path),
                    path=path,
                    score=submitted.score,
                    max_score=submitted.max_score,
                    cell_scores={grade.name: (grade.score, grade.max_score) for grade in submitted.grades},
                )
    return results


@heavy
@pytest.mark.parametrize("student", [SOLUTION_STUDENT, BLANK_STUDENT])
def test_autograde_ran_every_notebook_in_the_student_install_without_dask(
    autograded, student_install, kernel_records, student
):
    """Each notebook's kernel, once the notebook had imported ``course_utils``, recorded its Python
    (the student venv's), where ``course_utils`` came from (pip's install of the bundle in that venv)
    and what importing the tooling and Dask raised there (tests/support/student_kernel/record.py)."""
    records = [json.loads(path.read_text()) for path in sorted((kernel_records / student).glob("*.json"))]
    # nbgrader starts one kernel per notebook: a notebook run by another kernel leaves no record
    assert len(records) == len(SOURCE_NOTEBOOKS) == len(autograded[student]), records
    for record in records:
        assert "error" not in record, record
        assert Path(record["prefix"]).resolve() == student_install.environment.resolve(), record
        assert Path(record["course_utils"]).is_relative_to(student_install.site_packages), record
        assert record["missing"] == {
            name: f"ModuleNotFoundError: No module named {name!r}" for name in NOT_INSTALLED
        }, record


def _errors(notebook) -> list[tuple[str, str, str, str]]:
    """(cell id, error name, message, traceback text) for every error output."""
    return [
        (cell.id, output.ename, output.evalue, "\n".join(output.get("traceback", [])))
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]


@heavy
@pytest.mark.parametrize("name", SOURCE_NOTEBOOKS)
def test_autograde_gives_the_solutions_full_marks(autograded, name):
    graded = autograded[SOLUTION_STUDENT][name]
    assert _errors(graded.notebook) == []
    assert graded.max_score > 0
    lost = {cell: scores for cell, scores in graded.cell_scores.items() if scores[0] != scores[1]}
    assert graded.score == graded.max_score, f"cells that lost marks: {lost}"


@heavy
@pytest.mark.parametrize("name", SOURCE_NOTEBOOKS)
def test_autograde_gives_the_blank_copy_zero(autograded, name):
    graded = autograded[BLANK_STUDENT][name]
    scored = {cell: scores for cell, scores in graded.cell_scores.items() if scores[0]}
    assert graded.score == 0, f"a blank copy earned marks in {scored}"


@heavy
@pytest.mark.parametrize("name", SOURCE_NOTEBOOKS)
def test_blank_copy_fails_only_with_the_stub_and_its_consequences(autograded, name):
    notebook = autograded[BLANK_STUDENT][name].notebook
    student_names = _student_names(read_notebook(SOURCE / f"{name}.ipynb"))
    graded_ids = {cell.id for cell in notebook.cells if _nbgrader(cell).get("grade") or _is_answer(cell)}
    for cell in notebook.cells:
        if _is_answer(cell) and cell.cell_type == "code":
            # A stub at top level raises; a stub inside a given `def` only raises when called.
            kinds = [output.ename for output in cell.outputs if output.output_type == "error"]
            assert kinds in ([], ["NotImplementedError"]), f"answer cell {cell.id} failed with {kinds}"
    for cell_id, ename, evalue, traceback in _errors(notebook):
        assert cell_id in graded_ids, (
            f"the notebook body failed in cell {cell_id} with blank exercises: {ename}: {evalue}"
        )
        assert ename in STUB_ERRORS, (
            f"cell {cell_id} failed with {ename}: {evalue} (course code must not fail)"
        )
        assert f"{os.sep}course_utils{os.sep}" not in traceback, (
            f"cell {cell_id} failed inside course_utils ({ename}: {evalue}); blank answers must fail before"
        )
        if ename == "NameError":
            missing = re.search(r"name '(\w+)' is not defined", evalue)
            assert missing and missing.group(1) in student_names, (
                f"cell {cell_id}: {evalue}; only names the student defines may be missing ({sorted(student_names)})"
            )


@heavy
@pytest.mark.parametrize("student", [SOLUTION_STUDENT, BLANK_STUDENT])
def test_no_graded_cell_writes_to_stderr(autograded, student):
    noisy = []
    for name, graded in autograded[student].items():
        for cell in graded.notebook.cells:
            checked = _nbgrader(cell).get("grade") or _is_answer(cell) or student == SOLUTION_STUDENT
            for output in cell.get("outputs", []) if checked else []:
                if output.output_type == "stream" and output.name == "stderr":
                    noisy.append(f"{name}/{cell.id}: {output.text.strip()[:300]}")
    assert not noisy, "stderr output (nbgrader zeroes such test cells):\n" + "\n".join(noisy)


@heavy
@pytest.mark.parametrize("student", [SOLUTION_STUDENT, BLANK_STUDENT])
def test_nbgrader_validator_verdicts(autograded, student):
    """nbgrader's own Validator, applied to the notebooks autograde executed (not a second run):
    ``validate`` passes the solutions and ``validate --invert`` finds no passing test in the blanks."""
    from nbgrader.preprocessors import CheckCellMetadata
    from nbgrader.validator import Validator
    from traitlets import List

    class VerdictOnExecuted(Validator):
        preprocessors = List([CheckCellMetadata])

    invert = student == BLANK_STUDENT
    for name, graded in autograded[student].items():
        verdict = VerdictOnExecuted(invert=invert).validate(str(graded.path))
        assert verdict == {}, f"{name}: nbgrader validate{' --invert' if invert else ''} reports {verdict}"
