"""Sanitising steps that nbgrader 0.9 needs before it can restore a tampered notebook.

nbgrader's ``DeduplicateIds`` empties the ``nbgrader`` metadata of every extra copy of a cell
(``{}``), and ``OverwriteCells`` with ``add_missing_cells`` (which we turn on, so that deleting a
test cell cannot earn its points) then fails with ``KeyError: 'grade_id'`` on those copies, taking
the whole submission down. :class:`DropEmptyNbgraderMetadata` removes the emptied dictionaries in
between, so a duplicated cell is graded like nbgrader intends (the last copy counts).
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor


class DropEmptyNbgraderMetadata(NbGraderPreprocessor):
    """Remove ``metadata.nbgrader`` from cells where it has no ``grade_id`` (left by DeduplicateIds)."""

    def preprocess_cell(self, cell, resources, index):
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if nbgrader is not None and not nbgrader.get("grade_id"):
            del cell.metadata["nbgrader"]
        return cell, resources


def sanitize_preprocessors() -> list:
    """nbgrader's own sanitising steps, with :class:`DropEmptyNbgraderMetadata` after deduplication."""
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    return [
        ClearOutput,
        DeduplicateIds,
        DropEmptyNbgraderMetadata,
        OverwriteKernelspec,
        OverwriteCells,
        CheckCellMetadata,
    ]
