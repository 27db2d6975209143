"""Canonical notebook files, and the student release regenerated from the solutions.

Notebooks are committed as *canonical* JSON: nbformat 4.5, sorted keys, one-space indent, no
outputs or execution counts, minimal metadata, and a readable ``id`` on every cell. Canonical
files give clean diffs, and readable ids give forum mentors links that keep working
(``…/01_fixed_rate.ipynb#cell-id=build-the-model``). Ids are never renamed once set; the cell id
of an nbgrader cell is its ``grade_id``.

Authors write notebooks either in JupyterLab (then run ``python -m course_tools.notebook_format fix
solutions/learning-rate/*.ipynb``) or from Python with :func:`markdown`, :func:`code`,
:func:`solution`, :func:`tests` and :func:`write_notebook`. See ``solutions/TEMPLATE.md``.

:func:`generate_release` turns ``solutions/`` into the student release with nbgrader itself
(``nbgrader generate_assignment`` and the repository's ``nbgrader_config.py``, in a temporary
course directory) and writes the canonical result; ``course release``, the one way to make a
release, calls it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_tools.grading.course import CONFIG_FILE, course_root

#: The nbgrader assignment that holds the whole course.
ASSIGNMENT = "learning-rate"
#: The repository root: :func:`course_tools.grading.course.course_root`, the checkout this runs from.
REPO_ROOT = course_root()

NBFORMAT_MINOR = 5
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
# Cell metadata worth keeping: nbgrader's own, and the lock flags nbgrader sets on released cells.
KEPT_CELL_METADATA = ("nbgrader", "deletable", "editable", "tags")
NBGRADER_SCHEMA_VERSION = 3

# Readable ids: lower-case words joined by dashes ("tune-the-learning-rate"), at most 64 characters.
_READABLE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Ids that editors generate (nbformat: 8 hex digits; JupyterLab: a UUID) say nothing to a reader.
_GENERATED_ID = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$")
_MAX_ID_LENGTH = 64


# --------------------------------------------------------------------------- building notebooks


def _cell(cell_type: str, cell_id: str, source: str, nbgrader: dict | None = None) -> NotebookNode:
    if not is_readable_id(cell_id):
        raise ValueError(
            f"cell_id must be lower-case words joined by dashes (at most {_MAX_ID_LENGTH} characters, "
            f"not a generated hex id); got {cell_id!r}."
        )
    if not isinstance(source, str):
        raise TypeError(f"source must be a string; got {type(source).__name__}.")
    maker = nbformat.v4.new_markdown_cell if cell_type == "markdown" else nbformat.v4.new_code_cell
    cell = maker(source=source.strip("\n"), id=cell_id)
    if nbgrader is not None:
        cell.metadata["nbgrader"] = {
            "grade_id": cell_id,
            "schema_version": NBGRADER_SCHEMA_VERSION,
            **nbgrader,
        }
    return cell


def markdown(cell_id: str, source: str, *, locked: bool = False) -> NotebookNode:
    """A markdown cell; ``locked=True`` makes it read-only in the release (use it for exercise tasks)."""
    flags = {"grade": False, "locked": True, "solution": False, "task": False} if locked else None
    return _cell("markdown", cell_id, source, flags)


def code(cell_id: str, source: str) -> NotebookNode:
    """An ordinary code cell (students may edit it; nbgrader does not grade it)."""
    return _cell("code", cell_id, source)


def solution(cell_id: str, source: str) -> NotebookNode:
    """An autograded answer cell: the part between ``### BEGIN SOLUTION`` and ``### END SOLUTION``
    becomes nbgrader's stub in the release."""
    if "### BEGIN SOLUTION" not in source or "### END SOLUTION" not in source:
        raise ValueError(f"solution cell {cell_id!r} needs '### BEGIN SOLUTION' and '### END SOLUTION'.")
    return _cell("code", cell_id, source, {"grade": False, "locked": False, "solution": True, "task": False})


def tests(cell_id: str, source: str, *, points: int = 1) -> NotebookNode:
    """A locked test cell worth ``points``; it starts with a docstring saying what it checks.

    Hidden tests go between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``.
    """
    if not source.lstrip().startswith('"""'):
        raise ValueError(f"test cell {cell_id!r} must start with a docstring saying what it checks.")
    if isinstance(points, bool) or not isinstance(points, int) or points < 1:
        raise ValueError(f"points must be a positive integer; got {points!r}.")
    return _cell(
        "code",
        cell_id,
        source,
        {"grade": True, "locked": True, "points": points, "solution": False, "task": False},
    )


def new_notebook(cells: Iterable[NotebookNode]) -> NotebookNode:
    """A canonical notebook holding ``cells``."""
    notebook = nbformat.v4.new_notebook(cells=list(cells))
    return canonicalize(notebook)


# --------------------------------------------------------------------------- canonical form


def is_readable_id(cell_id) -> bool:
    """True for ids like ``tune-the-learning-rate``; false for generated ids like ``1f3c9a2b``."""
    return (
        isinstance(cell_id, str)
        and len(cell_id) <= _MAX_ID_LENGTH
        and bool(_READABLE_ID.match(cell_id))
        and not _GENERATED_ID.match(cell_id)
    )


def canonicalize(notebook: NotebookNode) -> NotebookNode:
    """Return a copy of ``notebook`` in canonical form (sources and ids untouched).

    Sources are never changed, so nbgrader's checksums in a released notebook stay valid.
    """
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))
    notebook.nbformat, notebook.nbformat_minor = 4, NBFORMAT_MINOR
    notebook.metadata = nbformat.from_dict(json.loads(json.dumps(NOTEBOOK_METADATA)))
    cells = []
    for cell in notebook.cells:
        kept = {key: cell.metadata[key] for key in KEPT_CELL_METADATA if key in cell.get("metadata", {})}
        clean = {"cell_type": cell.cell_type, "id": cell.get("id"), "metadata": kept, "source": cell.source}
        if cell.cell_type == "code":
            clean.update(outputs=[], execution_count=None)
        cells.append(nbformat.from_dict(clean))
    notebook.cells = cells
    return notebook


def canonical_text(notebook: NotebookNode) -> str:
    """The exact text of ``notebook``'s canonical file (what :func:`write_notebook` writes)."""
    text = nbformat.writes(canonicalize(notebook), version=4)
    return text if text.endswith("\n") else text + "\n"


def read_notebook(path) -> NotebookNode:
    """Read a notebook file as nbformat 4 (without upgrading or changing it)."""
    with open(path, encoding="utf-8") as handle:
        return nbformat.read(handle, as_version=4)


def write_notebook(notebook: NotebookNode, path) -> Path:
    """Write ``notebook`` canonically to ``path`` after checking it (ids, nbformat schema)."""
    path = Path(path)
    text = canonical_text(notebook)
    problems = notebook_problems(nbformat.reads(text, as_version=4))
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def notebook_problems(notebook: NotebookNode) -> list[str]:
    """What keeps an in-memory notebook from being canonical-ready (apart from formatting)."""
    problems = []
    try:
        # On a copy, quietly: nbformat "repairs" duplicate ids in place (with a warning), which
        # would hide the problem that the loop below reports.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nbformat.validate(copy.deepcopy(notebook))
    except nbformat.ValidationError as error:
        problems.append(f"not valid nbformat: {error.message}")
    if (notebook.get("nbformat"), notebook.get("nbformat_minor")) != (4, NBFORMAT_MINOR):
        problems.append(f"nbformat must be 4.{NBFORMAT_MINOR}")
    seen = set()
    for index, cell in enumerate(notebook.cells):
        cell_id = cell.get("id")
        if not is_readable_id(cell_id):
            problems.append(f"cell {index} has id {cell_id!r}, not a readable lower-case-dashed id")
        if cell_id in seen:
            problems.append(f"cell {index} repeats id {cell_id!r}")
        seen.add(cell_id)
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id is not None and grade_id != cell_id:
            problems.append(
                f"cell {index} has id {cell_id!r} but nbgrader grade_id {grade_id!r} (must be equal)"
            )
    return problems


def check_notebook(path) -> list[str]:
    """Problems that keep the file at ``path`` from being committed; an empty list means canonical."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for unreadable files
        return [f"{path}: cannot be read as a notebook: {error}"]
    problems = [f"{path}: {problem}" for problem in notebook_problems(notebook)]
    for index, cell in enumerate(notebook.cells):
        if cell.get("outputs") or cell.get("execution_count") is not None:
            problems.append(f"{path}: cell {index} ({cell.get('id')}) has outputs or an execution count")
    if text != canonical_text(notebook):
        problems.append(
            f"{path}: not canonical JSON (run: python -m course_tools.notebook_format fix {path})"
        )
    return problems


# --------------------------------------------------------------------------- giving cells ids


def slugify(text: str) -> str:
    """``"## 2. Tune the Learning Rate"`` -> ``"tune-the-learning-rate"``."""
    text = re.sub(r"^\s*#+\s*", "", text.strip().splitlines()[0] if text.strip() else "")
    text = re.sub(r"^(\d+\.)+\s*", "", text)  # section numbers change; the name stays
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:_MAX_ID_LENGTH].rstrip("-") or "cell"


def assign_ids(notebook: NotebookNode) -> NotebookNode:
    """Give every cell without a readable id one; readable ids are never changed.

    nbgrader cells take their ``grade_id``; a markdown heading takes its slug; any other cell takes
    the slug of the heading above it plus a counter (``setup-2``).
    """
    used = {cell.get("id") for cell in notebook.cells if is_readable_id(cell.get("id"))}
    section, counter = "notebook", 0
    for cell in notebook.cells:
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        is_heading = cell.cell_type == "markdown" and source.lstrip().startswith("#")
        if is_heading:
            section, counter = slugify(source), 0
        counter += 1
        if is_readable_id(cell.get("id")):
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id and is_readable_id(grade_id) and grade_id not in used:
            wanted = grade_id
        else:
            wanted = section if is_heading else f"{section}-{counter}"
        candidate, suffix = wanted, 2
        while candidate in used:
            candidate, suffix = f"{wanted}-{suffix}", suffix + 1
        cell["id"] = candidate
        used.add(candidate)
        if grade_id is not None and grade_id != candidate:
            cell.metadata["nbgrader"]["grade_id"] = candidate
    return notebook


def fix_notebook(path) -> list[str]:
    """Rewrite ``path`` canonically, giving readable ids to cells that lack one; return what remains wrong."""
    notebook = read_notebook(path)
    notebook.nbformat_minor = max(notebook.get("nbformat_minor", 0), NBFORMAT_MINOR)
    write_notebook(assign_ids(canonicalize(notebook)), path)
    return check_notebook(path)


# --------------------------------------------------------------------------- the release


def nbgrader_environment() -> dict[str, str]:
    """Environment for running nbgrader: this Python's bin first on PATH (nbgrader runs ``alembic``
    from PATH) and TensorFlow quiet."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return env


def run_nbgrader(
    args: list[str], course_root, *, timeout: float | None = None, merge_stderr: bool = False
) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in ``course_root`` (which holds the course's ``nbgrader_config.py``).

    ``merge_stderr`` puts nbgrader's log into ``stdout``, in the order it was written (to tell
    which verdict belongs to which notebook). Raises ``RuntimeError`` with nbgrader's output if it
    fails.
    """
    command = [str(Path(sys.executable).parent / "nbgrader"), *args]
    result = subprocess.run(
        command,
        cwd=course_root,
        env=nbgrader_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed in {course_root} (exit {result.returncode}):\n{result.stdout}\n{result.stderr or ''}"
        )
    return result


def default_config_file() -> Path:
    """The repository's ``nbgrader_config.py``."""
    return REPO_ROOT / CONFIG_FILE


def make_course_directory(
    course_root, source_root, *, assignment: str = ASSIGNMENT, config_file=None
) -> Path:
    """Lay out a throw-away nbgrader course in ``course_root``: the repository's config and a copy of
    ``source_root/assignment`` as ``solutions/assignment``. Returns ``course_root``."""
    course_root, source_root = Path(course_root), Path(source_root)
    config_file = Path(config_file) if config_file is not None else default_config_file()
    source = source_root / assignment
    if not source.is_dir():
        raise FileNotFoundError(f"no assignment folder {source} (expected source_root/{assignment}/*.ipynb)")
    if not config_file.is_file():
        raise FileNotFoundError(f"nbgrader config {config_file} not found")
    course_root.mkdir(parents=True, exist_ok=True)
    # The config derives the course root from its own location, so a copy makes this folder the course.
    shutil.copyfile(config_file, course_root / CONFIG_FILE)
    shutil.copytree(
        source,
        course_root / "solutions" / assignment,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    return course_root


def generate_release(
    source_root, release_root, *, assignment: str = ASSIGNMENT, config_file=None
) -> list[Path]:
    """Regenerate the student release of ``source_root/assignment`` into ``release_root/assignment``.

    Runs ``nbgrader generate_assignment`` with the repository's ``nbgrader_config.py`` in a temporary
    course directory (so no gradebook or stray file lands in the repository), then writes every
    released notebook in canonical form. ``release_root/assignment`` is replaced as a whole, so
    notebooks removed from the source disappear from the release. Returns the written files, sorted.
    """
    release_root = Path(release_root)
    with tempfile.TemporaryDirectory(prefix="course-release-") as scratch:
        course = make_course_directory(
            Path(scratch) / "course", source_root, assignment=assignment, config_file=config_file
        )
        run_nbgrader(["generate_assignment", assignment, "--force"], course)
        generated = course / "notebooks" / assignment
        target = release_root / assignment
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        written = []
        for path in sorted(generated.rglob("*")):
            if path.is_dir():
                continue
            destination = target / path.relative_to(generated)
            destination.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix == ".ipynb":
                write_notebook(read_notebook(path), destination)
            else:
                shutil.copyfile(path, destination)
            written.append(destination)
    return written


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """``python -m course_tools.notebook_format check|fix PATH...`` (a release is ``course release``)."""
    parser = argparse.ArgumentParser(
        prog="python -m course_tools.notebook_format", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="action", required=True)
    check_parser = sub.add_parser("check", help="report notebooks that are not canonical (exit 1 if any)")
    check_parser.add_argument("paths", nargs="+", type=Path)
    fix_parser = sub.add_parser(
        "fix", help="rewrite notebooks canonically, adding readable ids where missing"
    )
    fix_parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    problems = []
    for path in args.paths:
        problems += fix_notebook(path) if args.action == "fix" else check_notebook(path)
    print("\n".join(problems) if problems else f"{len(args.paths)} notebook(s) canonical")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
