"""What instructors hand out after grading: a CSV of grades and an HTML feedback page per student.

Thin wrappers: nbgrader's own CSV export plugin and ``generate_feedback``, pointed at the course's
configuration, so their output is exactly what ``nbgrader export`` and ``nbgrader
generate_feedback`` give.
"""

from __future__ import annotations

import csv
from pathlib import Path

from course_tools.grading.course import Course


def export_csv(course: Course, destination=None, *, assignments=(), students=()) -> Path:
    """Write nbgrader's grades CSV (one row per student and assignment) and return its path."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin

    destination = Path(destination) if destination is not None else course.root / "grades.csv"
    destination.parent.mkdir(parents=True, exist_ok=True)
    plugin = CsvExportPlugin(config=course.config)
    plugin.to = str(destination)
    plugin.assignment = list(assignments)
    plugin.student = list(students)
    with Gradebook(course.db_url, course.course_id) as gradebook:
        plugin.export(gradebook)
    return destination


def read_csv(path) -> list[dict]:
    """The rows of an exported CSV, as dictionaries (for checks and tests)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def generate_feedback(course: Course, assignment: str, *, student: str | None = None) -> list[Path]:
    """nbgrader's HTML feedback for every autograded submission (or one student's); returns the pages."""
    from traitlets.config import Config

    from course_tools.grading.course import run_nbgrader_step

    config = Config(course.config)
    config.HTMLExporter.template_name = "feedback"  # as NbGraderAPI.generate_feedback sets it
    coursedir = course.coursedir(assignment_id=assignment)
    if student is not None:
        coursedir.student_id = student
    outcome = run_nbgrader_step("generate_feedback", config, coursedir, force=True)
    if not outcome.get("success"):
        raise RuntimeError(
            f"nbgrader generate_feedback failed:\n{outcome.get('error') or outcome.get('log')}"
        )
    pattern = f"{student or '*'}/{assignment}/*.html"
    return sorted(course.feedback_dir.glob(pattern))
