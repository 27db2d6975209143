"""The canonical notebook format: what it keeps, what it strips, and which ids it accepts."""

from __future__ import annotations

import json

import nbformat
import pytest

from course_tools import notebook_format as nf


def _example():
    return nf.new_notebook(
        [
            nf.markdown("title", "# A title\n\nOne line of purpose."),
            nf.code("setup-imports", "import os"),
            nf.solution(
                "answer-square",
                "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
            ),
            nf.tests("test-square", '"""square squares."""\nassert square(3) == 9, "expected 9"', points=2),
        ]
    )


def test_written_notebooks_are_canonical(tmp_path):
    path = nf.write_notebook(_example(), tmp_path / "example.ipynb")
    assert nf.check_notebook(path) == []
    data = json.loads(path.read_text())
    assert (data["nbformat"], data["nbformat_minor"]) == (4, 5)
    assert data["metadata"] == nf.NOTEBOOK_METADATA
    assert path.read_text().startswith('{\n "cells": [\n  {\n   "cell_type"')  # sorted keys, 1-space indent
    assert path.read_text().endswith("}\n")


def test_canonical_form_is_idempotent_and_keeps_sources_and_ids():
    notebook = _example()
    once = nf.canonical_text(notebook)
    assert nf.canonical_text(nbformat.reads(once, as_version=4)) == once
    assert [cell.source for cell in nbformat.reads(once, as_version=4).cells] == [
        c.source for c in notebook.cells
    ]


def test_outputs_counts_and_stray_metadata_are_stripped_but_nbgrader_kept(tmp_path):
    notebook = _example()
    notebook.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="hi")]
    notebook.cells[1].execution_count = 3
    notebook.cells[1].metadata["collapsed"] = True
    notebook.cells[3].metadata["editable"] = False
    notebook.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    path = tmp_path / "dirty.ipynb"
    path.write_text(nbformat.writes(notebook))
    problems = nf.check_notebook(path)
    assert any("outputs or an execution count" in problem for problem in problems)
    assert any("not canonical" in problem for problem in problems)
    clean = nbformat.reads(nf.canonical_text(notebook), as_version=4)
    assert clean.cells[1].outputs == [] and clean.cells[1].execution_count is None
    assert "collapsed" not in clean.cells[1].metadata
    assert clean.cells[3].metadata["editable"] is False
    assert clean.cells[3].metadata["nbgrader"]["points"] == 2
    assert clean.metadata == nf.NOTEBOOK_METADATA


@pytest.mark.parametrize(
    "cell_id", ["1f3c9a2b", "5f2c1e3a-8b9d-4c1e-9a2b-0123456789ab", "Has-Caps", "under_score", ""]
)
def test_unreadable_ids_are_refused(cell_id):
    assert not nf.is_readable_id(cell_id)
    with pytest.raises(ValueError, match="cell_id"):
        nf.code(cell_id, "x = 1")


def test_problems_name_duplicate_ids_and_grade_id_mismatch():
    notebook = _example()
    notebook.cells[1]["id"] = "title"
    notebook.cells[3].metadata["nbgrader"]["grade_id"] = "other-name"
    problems = nf.notebook_problems(notebook)
    assert any("repeats id 'title'" in problem for problem in problems)
    assert any("grade_id 'other-name'" in problem for problem in problems)


def test_fix_gives_readable_ids_and_never_renames_existing_ones(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## 2. Tune the Learning Rate"),
            nbformat.v4.new_code_cell("x = 1"),
            nbformat.v4.new_code_cell("y = 2", id="keep-me"),
            nbformat.v4.new_code_cell("z = 3"),
        ]
    )
    path = tmp_path / "draft.ipynb"
    path.write_text(nbformat.writes(notebook))
    assert nf.fix_notebook(path) == []
    ids = [cell.id for cell in nf.read_notebook(path).cells]
    assert ids == [
        "tune-the-learning-rate",
        "tune-the-learning-rate-2",
        "keep-me",
        "tune-the-learning-rate-4",
    ]
    assert nf.fix_notebook(path) == [] and [cell.id for cell in nf.read_notebook(path).cells] == ids


def test_cell_helpers_refuse_incomplete_exercises():
    with pytest.raises(ValueError, match="BEGIN SOLUTION"):
        nf.solution("answer-x", "x = 1")
    with pytest.raises(ValueError, match="docstring"):
        nf.tests("test-x", "assert x == 1, 'x'")
    with pytest.raises(ValueError, match="points"):
        nf.tests("test-x", '"""x"""\nassert x, "x"', points=0)


def test_generate_release_needs_the_assignment_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="learning-rate"):
        nf.generate_release(tmp_path / "nothing-here", tmp_path / "release")
