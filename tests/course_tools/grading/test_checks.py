"""course_tools.grading.checks: what is wrong with a submission, and what the sandbox blocked."""

from __future__ import annotations

import nbformat
import pytest

from course_tools.grading import checks


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
