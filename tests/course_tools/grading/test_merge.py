"""course_tools.grading.merge: results into the one gradebook, manual grades kept, flagged notebooks."""

from __future__ import annotations

from nbgrader.api import Gradebook

from course_tools.grading.course import Course
from course_tools.grading.merge import flagged_notebooks, merge_result, write_autograded
from course_tools.grading.worker import FAILED, FLAGGED, GRADED, NotebookResult, SubmissionResult


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


def _grades(course: Course, student: str) -> dict:
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
