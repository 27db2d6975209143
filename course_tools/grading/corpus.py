"""A toy nbgrader assignment and a corpus of bad submissions, for tests and benchmarks.

The toy assignment is plain Python (two small notebooks, four graded cells) so that a batch of
twenty submissions grades in seconds; it uses the course's layout (``solutions/`` as source,
``notebooks/`` as release). Each corpus case is one student whose submission does one bad thing,
with the status and the reason the grader must report.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

TOY_ASSIGNMENT = "toy"

_CONFIG = '''"""nbgrader configuration of a toy course (made by course_tools.grading.corpus)."""

import os

c = get_config()  # noqa: F821
HERE = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "toy-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "gradebook.db")
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
c.Execute.timeout = {cell_timeout}
'''

_SQUARES = '''def squares(n):
    """The first n square numbers, from 0."""
    ### BEGIN SOLUTION
    return [i * i for i in range(n)]
    ### END SOLUTION'''

_TEST_SQUARES = '''"""squares(n) lists the first n squares."""
assert squares(3) == [0, 1, 4], f"squares(3) should be [0, 1, 4], got {squares(3)}"
### BEGIN HIDDEN TESTS
assert squares(5)[-1] == 16, "squares(5) should end with 16"
### END HIDDEN TESTS'''

_MEAN = '''def mean(values):
    """The arithmetic mean of a non-empty list."""
    ### BEGIN SOLUTION
    return sum(values) / len(values)
    ### END SOLUTION'''

_TEST_MEAN = '''"""mean(values) is the arithmetic mean."""
assert mean([1, 2, 3]) == 2, "mean([1, 2, 3]) should be 2"
### BEGIN HIDDEN TESTS
assert mean([1.5]) == 1.5, "mean([1.5]) should be 1.5"
### END HIDDEN TESTS'''

_TOTAL = '''def total(values):
    """The sum of a list."""
    ### BEGIN SOLUTION
    return sum(values)
    ### END SOLUTION'''

_TEST_TOTAL = '''"""total(values) adds the values up."""
assert total([1, 2, 3]) == 6, "total([1, 2, 3]) should be 6"'''


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: int = 0) -> dict:
    data = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if grade:
        data["points"] = points
    return {"nbgrader": data}


def _answer(grade_id: str, source: str):
    return new_code_cell(
        source, id=grade_id, metadata=_meta(grade_id, grade=False, solution=True, locked=False)
    )


def _test(grade_id: str, source: str, points: int):
    return new_code_cell(
        source, id=grade_id, metadata=_meta(grade_id, grade=True, solution=False, locked=True, points=points)
    )


def toy_source_notebooks() -> dict[str, nbformat.NotebookNode]:
    """The toy assignment's source notebooks (with solutions and hidden tests), by name."""
    kernelspec = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    squares = new_notebook(
        cells=[
            new_markdown_cell("# Squares and means\nTwo small functions.", id="title"),
            new_code_cell("import math", id="setup"),
            _answer("squares", _SQUARES),
            _test("test-squares", _TEST_SQUARES, 2),
            _answer("mean", _MEAN),
            _test("test-mean", _TEST_MEAN, 3),
        ],
        metadata={"kernelspec": kernelspec},
    )
    stats = new_notebook(
        cells=[
            new_markdown_cell("# Totals", id="title"),
            _answer("total", _TOTAL),
            _test("test-total", _TEST_TOTAL, 1),
        ],
        metadata={"kernelspec": kernelspec},
    )
    return {"squares": squares, "stats": stats}


#: Full marks of the toy assignment (2 + 3 + 1).
TOY_MAX_SCORE = 6.0


def make_toy_course(root, *, cell_timeout: int = 10) -> Path:
    """Write the toy course into ``root`` and release it with nbgrader (which fills the gradebook)."""
    from course_tools.grading.course import Course, run_nbgrader_step

    root = Path(root)
    source = root / "solutions" / TOY_ASSIGNMENT
    source.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(_CONFIG.replace("{cell_timeout}", str(int(cell_timeout))))
    for name, notebook in toy_source_notebooks().items():
        nbformat.write(notebook, str(source / f"{name}.ipynb"))
    course = Course.load(root)
    coursedir = course.coursedir(assignment_id=TOY_ASSIGNMENT)
    outcome = run_nbgrader_step(
        "generate_assignment", course.config, coursedir, force=True, create_assignment=True
    )
    if not outcome.get("success"):
        raise RuntimeError(f"releasing the toy assignment failed:\n{outcome.get('log')}")
    return root


# ---------------------------------------------------------------------- submissions


def _strip_markers(source: str) -> str:
    kept = [
        line
        for line in source.splitlines()
        if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line
    ]
    return textwrap.dedent("\n".join(kept)) if not kept[0].startswith("def ") else "\n".join(kept)


def _released(root: Path, name: str) -> nbformat.NotebookNode:
    return nbformat.read(str(root / "notebooks" / TOY_ASSIGNMENT / f"{name}.ipynb"), as_version=4)


def answered(root, answers: dict[str, str] | None = None) -> dict[str, nbformat.NotebookNode]:
    """Release copies with every answer cell filled in: the solutions, or ``answers[grade_id]``."""
    root = Path(root)
    answers = answers or {}
    solutions = {}
    for notebook in toy_source_notebooks().values():
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("solution"):
                solutions[cell.metadata.nbgrader.grade_id] = _strip_markers(cell.source)
    result = {}
    for name in toy_source_notebooks():
        notebook = _released(root, name)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = answers.get(grade_id, solutions[grade_id])
        result[name] = notebook
    return result


def notebook_files(notebooks: dict[str, nbformat.NotebookNode]) -> dict[str, bytes]:
    """Notebooks as submission files (name.ipynb -> bytes)."""
    return {f"{name}.ipynb": nbformat.writes(nb).encode() for name, nb in notebooks.items()}


def case(student: str) -> Case:
    """The corpus case of ``student``."""
    return next(item for item in CORPUS if item.student == student)


def submitted_files(root, student: str, assignment: str = TOY_ASSIGNMENT) -> dict[str, bytes]:
    """The files of ``submitted/<student>/<assignment>/`` by relative path."""
    folder = Path(root) / "submitted" / student / assignment
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _cell(notebook, grade_id: str):
    return next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


@dataclass(frozen=True)
class Case:
    """One corpus student: how to build the submission, and what grading must say about it."""

    student: str
    build: Callable[[Path], dict[str, bytes]]
    status: str  # graded / flagged
    reason: str  # a substring of one of the reasons ("" for none)
    score: float | None  # expected total, when it is fixed


WRONG_SQUARES = "def squares(n):\n    return [i for i in range(n)]"
HARDCODED_SQUARES = "def squares(n):\n    return [0, 1, 4][:n]"


def _good(root):
    return notebook_files(answered(root))


def _blank(root):
    return notebook_files({name: _released(root, name) for name in toy_source_notebooks()})


def _partial(root):
    return notebook_files(answered(root, {"mean": "def mean(values):\n    return 0"}))


def _hardcoded(root):
    return notebook_files(answered(root, {"squares": HARDCODED_SQUARES}))


def _edited_test(root):
    notebooks = answered(root, {"squares": WRONG_SQUARES})
    _cell(notebooks["squares"], "test-squares").source = "pass  # the test always passes now"
    return notebook_files(notebooks)


def _deleted_test(root):
    notebooks = answered(root, {"squares": WRONG_SQUARES})
    nb = notebooks["squares"]
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test-squares"]
    return notebook_files(notebooks)


def _type_changed(root):
    notebooks = answered(root, {"mean": "def mean(values):\n    return 0"})
    cell = _cell(notebooks["squares"], "test-mean")
    cell.cell_type = "markdown"
    del cell["outputs"], cell["execution_count"]
    return notebook_files(notebooks)


def _duplicated(root):
    notebooks = answered(root)
    nb = notebooks["squares"]
    index = next(i for i, c in enumerate(nb.cells) if c.get("id") == "test-squares")
    copy = nbformat.from_dict(json.loads(json.dumps(nb.cells[index])))
    copy["id"] = "test-squares-copy"
    nb.cells.insert(index + 1, copy)
    return notebook_files(notebooks)


def _infinite_loop(root):
    return notebook_files(answered(root, {"squares": "while True:\n    pass"}))


def _kernel_killed(root):
    return notebook_files(answered(root, {"mean": "import os\nos._exit(1)"}))


def _memory_bomb(root):
    bomb = "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 2**20))"
    return notebook_files(answered(root, {"squares": bomb}))


def _output_flood(root):
    flood = "for line in range(20):\n    print('spam ' * 100_000)\n" + _strip_markers(_SQUARES)
    return notebook_files(answered(root, {"squares": flood}))


def _invalid_json(root):
    files = _good(root)
    text = files["squares.ipynb"].decode()
    files["squares.ipynb"] = text[: len(text) // 2].encode()
    return files


def _missing_notebook(root):
    files = _good(root)
    del files["stats.ipynb"]
    return files


def _renamed_notebook(root):
    files = _good(root)
    files["stats-copy.ipynb"] = files.pop("stats.ipynb")
    return files


def _reads_solutions(root):
    paths = [
        str(Path(root) / "solutions" / TOY_ASSIGNMENT / "squares.ipynb"),
        str(Path(root) / "gradebook.db"),
        "../../../source/toy/squares.ipynb",
    ]
    code = (
        "stolen = []\n"
        f"for path in {paths!r}:\n"
        "    try:\n"
        "        stolen.append(open(path, 'rb').read())\n"
        "    except OSError as error:\n"
        "        last = error\n"
        "if len(stolen) < 3:\n"
        "    raise last\n" + _strip_markers(_SQUARES)
    )
    return notebook_files(answered(root, {"squares": code}))


def _reads_other_student(root):
    path = str(Path(root) / "submitted" / "good" / TOY_ASSIGNMENT / "squares.ipynb")
    code = f"copied = open({path!r}).read()\n" + _strip_markers(_SQUARES)
    return notebook_files(answered(root, {"squares": code}))


def network_code(port: int) -> str:
    return (
        "import socket\n"
        f"socket.create_connection(('127.0.0.1', {port}), timeout=5).sendall(b'leak')\n"
        + _strip_markers(_SQUARES)
    )


def _network(root, port: int = 9):
    return notebook_files(answered(root, {"squares": network_code(port)}))


def _writes_outside(root):
    root = Path(root)
    targets = [
        str(root / "hacked.txt"),
        str(root / "gradebook.db"),
        str(root / "submitted" / "good" / TOY_ASSIGNMENT / "squares.ipynb"),
        str(root / "solutions" / TOY_ASSIGNMENT / "squares.ipynb"),
    ]
    code = (
        "import sys\n"
        f"targets = {targets!r} + [sys.prefix + '/hacked.txt']\n"
        "errors = []\n"
        "for target in targets:\n"
        "    try:\n"
        "        with open(target, 'w') as handle:\n"
        "            handle.write('overwritten')\n"
        "    except OSError as error:\n"
        "        errors.append(error)\n"
        "if errors:\n"
        "    raise errors[-1]\n"
    )
    return notebook_files(answered(root, {"mean": code}))


#: The corpus: every case the grader must survive, with its expected verdict.
CORPUS = (
    Case("good", _good, "graded", "", TOY_MAX_SCORE),
    Case("blank", _blank, "graded", "", 0.0),
    Case("partial", _partial, "graded", "", 3.0),
    Case("hardcoded", _hardcoded, "graded", "", 4.0),
    Case("edited-test", _edited_test, "flagged", "'test-squares' was edited", 4.0),
    Case("deleted-test", _deleted_test, "flagged", "'test-squares' was deleted", 4.0),
    Case("type-changed", _type_changed, "flagged", "'test-mean' was changed from code to markdown", 3.0),
    Case("duplicated", _duplicated, "flagged", "'test-squares' appears 2 times", TOY_MAX_SCORE),
    Case("infinite-loop", _infinite_loop, "flagged", "interrupted after", 4.0),
    Case("kernel-killed", _kernel_killed, "flagged", "kernel died (exit code 1)", 3.0),
    Case("memory-bomb", _memory_bomb, "flagged", "ran out of memory", 4.0),
    Case("output-flood", _output_flood, "flagged", "characters of output", TOY_MAX_SCORE),
    Case("invalid-json", _invalid_json, "flagged", "squares.ipynb is not valid JSON", 1.0),
    Case("missing-notebook", _missing_notebook, "flagged", "stats.ipynb is missing", 5.0),
    Case("renamed-notebook", _renamed_notebook, "flagged", "found stats-copy.ipynb instead (renamed?)", 5.0),
    Case("reads-solutions", _reads_solutions, "flagged", "tried to open instructor", 4.0),
    Case("reads-other", _reads_other_student, "flagged", "tried to open instructor", 4.0),
    Case("network", _network, "flagged", "tried to use the network", 4.0),
    Case("writes-outside", _writes_outside, "flagged", "tried to write outside its own folder", 3.0),
)


def submit(root, student: str, files: dict[str, bytes], assignment: str = TOY_ASSIGNMENT) -> Path:
    """Place ``files`` as ``submitted/<student>/<assignment>/`` (replacing an earlier submission)."""
    import shutil

    folder = Path(root) / "submitted" / student / assignment
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for relative, data in files.items():
        (folder / relative).write_bytes(data)
    return folder


def submit_corpus(root, cases=CORPUS) -> list[Case]:
    """Submit every case of ``cases`` into the course at ``root``; returns the cases."""
    for case in cases:
        submit(root, case.student, case.build(Path(root)))
    return list(cases)
