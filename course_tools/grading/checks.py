"""Explain, in one line each, what is wrong with a submission.

nbgrader already repairs much of it silently (it restores edited test cells, drops duplicated cell
ids, puts a changed cell type back) or gives up on the whole submission (invalid JSON). An
instructor needs to know either way, so these checks compare the submission with the source cells
in the gradebook *before* grading, and read the graded notebook's errors *after* grading for
traces of what the sandbox blocked.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

#: Notebooks larger than this are not read (the grader would spend its memory on them).
MAX_NOTEBOOK_BYTES = 50 * 2**20


@dataclass
class Inspection:
    """What the pre-grading checks found in one submission folder."""

    findings: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # notebook name -> why
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SourceCell:
    name: str
    cell_type: str
    locked: bool
    checksum: str | None
    is_grade: bool
    is_solution: bool
    source: str = ""


def source_cells(gradebook_url: str, course_id: str, assignment: str) -> dict[str, list[SourceCell]]:
    """The assignment's notebooks and their nbgrader cells, as recorded in the gradebook."""
    from nbgrader.api import Gradebook

    notebooks = {}
    with Gradebook(gradebook_url, course_id) as gradebook:
        for notebook in gradebook.find_assignment(assignment).notebooks:
            grade_ids = {cell.name for cell in notebook.grade_cells}
            solution_ids = {cell.name for cell in notebook.solution_cells}
            notebooks[notebook.name] = [
                SourceCell(
                    cell.name,
                    cell.cell_type,
                    bool(cell.locked),
                    cell.checksum,
                    cell.name in grade_ids,
                    cell.name in solution_ids,
                    cell.source or "",
                )
                for cell in notebook.source_cells
            ]
    return notebooks


def _describe_json_error(error: json.JSONDecodeError) -> str:
    return f"not valid JSON ({error.msg} at line {error.lineno}, column {error.colno})"


def read_submitted_notebook(path: Path):
    """Read a submitted notebook, or return ``(None, why)`` if it cannot be graded."""
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        return None, f"too large to grade ({size / 2**20:.0f} MiB)"
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        return None, _describe_json_error(error)
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several types for "JSON but not a notebook"
        return None, f"valid JSON but not a notebook ({type(error).__name__}: {str(error)[:120]})"
    return notebook, ""


def visible_text(source: str) -> str:
    """A locked cell's text as the student received it: hidden tests removed, blank lines ignored.

    The gradebook keeps test cells *with* their hidden tests, so comparing checksums (as nbgrader
    does) would call every test cell with hidden tests "edited".
    """
    lines, hidden = [], False
    for line in source.splitlines():
        if "BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden and line.strip():
            lines.append(line.rstrip())
    return "\n".join(lines)


def inspect_submission(folder, expected: dict[str, list[SourceCell]]) -> Inspection:
    """Compare the submission in ``folder`` with the source cells ``expected`` (by notebook name)."""
    from nbgrader.utils import is_grade, is_locked, is_solution

    folder = Path(folder)
    result = Inspection()
    present = sorted(p.stem for p in folder.glob("*.ipynb") if p.is_file())
    result.missing = [name for name in sorted(expected) if name not in present]
    result.extra = [name for name in present if name not in expected]
    for name in result.missing:
        hint = ""
        if result.extra:
            hint = "; found " + ", ".join(f"{extra}.ipynb" for extra in result.extra) + " instead (renamed?)"
        result.findings.append(f"{name}.ipynb is missing: scored 0{hint}")
    for name in sorted(set(expected) & set(present)):
        notebook, why = read_submitted_notebook(folder / f"{name}.ipynb")
        if notebook is None:
            result.unreadable[name] = why
            result.findings.append(f"{name}.ipynb is {why}: scored 0")
            continue
        cells_by_id: dict[str, list] = {}
        for cell in notebook.cells:
            if is_grade(cell) or is_solution(cell) or is_locked(cell):
                grade_id = cell.metadata.nbgrader.get("grade_id")
                if grade_id:
                    cells_by_id.setdefault(grade_id, []).append(cell)
        counts = Counter({grade_id: len(cells) for grade_id, cells in cells_by_id.items()})
        for grade_id, count in sorted(counts.items()):
            if count > 1:
                result.findings.append(
                    f"{name}: cell '{grade_id}' appears {count} times (nbgrader grades only the last copy)"
                )
        for source in expected[name]:
            found = cells_by_id.get(source.name)
            kind = "test cell" if source.is_grade and not source.is_solution else "answer cell"
            if not source.is_grade and not source.is_solution:
                kind = "locked cell"
            if not found:
                if source.is_grade or source.locked:
                    result.findings.append(
                        f"{name}: {kind} '{source.name}' was deleted (restored from the release)"
                    )
                continue
            cell = found[-1]
            if cell.cell_type != source.cell_type:
                result.findings.append(
                    f"{name}: {kind} '{source.name}' was changed from {source.cell_type} to {cell.cell_type} "
                    "(changed back)"
                )
            elif source.locked and visible_text(cell.source) != visible_text(source.source):
                result.findings.append(
                    f"{name}: {kind} '{source.name}' was edited (the release version was run)"
                )
    return result


# ---------------------------------------------------------------------- after grading

_NETWORK_SIGNS = (
    "network is unreachable",
    "temporary failure in name resolution",
    "name or service not known",
    "connection refused",
    "no address associated",
)
_PRIVATE_PATH_SIGNS = ("solutions", "gradebook", "submitted", "autograded", "source", "feedback")


def classify_error(ename: str, evalue: str) -> str | None:
    """What an error output says about the sandbox, or ``None`` if it is an ordinary failure."""
    text = evalue.lower()
    if ename == "MemoryError":
        return "ran out of memory (the kernel's memory limit)"
    if ename in {"gaierror", "ConnectionRefusedError", "URLError", "ConnectionError"} or any(
        sign in text for sign in _NETWORK_SIGNS
    ):
        return "tried to use the network (blocked by the sandbox)"
    if "read-only file system" in text:
        return "tried to write outside its own folder (blocked by the sandbox)"
    if ename in {"FileNotFoundError", "PermissionError"} and any(
        sign in text for sign in _PRIVATE_PATH_SIGNS
    ):
        return "tried to open instructor or other students' files (not visible in the sandbox)"
    return None


def sandbox_findings(notebook_path) -> list[str]:
    """One line per cell whose error shows the sandbox at work (memory, network, files)."""
    notebook = nbformat.read(str(notebook_path), as_version=4)
    name = Path(notebook_path).stem
    findings = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell_name = cell.metadata.get("nbgrader", {}).get("grade_id") or cell.get("id", "?")
        for output in cell.get("outputs", []):
            if output.get("output_type") != "error":
                continue
            verdict = classify_error(output.get("ename", ""), output.get("evalue", ""))
            if verdict:
                findings.append(f"{name}: cell '{cell_name}' {verdict}")
    return findings
