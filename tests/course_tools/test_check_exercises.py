"""course check-exercises: wrong answers, shortcuts and correct alternatives run against the tests.

The toy course below has one exercise with deliberately weak tests, so the checker must report a
wrong answer that passes, a message that misses its concept, a correct answer that fails and a
claim the prose no longer matches; the course's own corpus must come out clean.
"""

from __future__ import annotations

import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from course_tools.check_exercises import (
    check_course,
    corpus_files,
    format_report,
    read_corpus,
    split_test,
    verdict,
)
from course_tools.notebook_format import ASSIGNMENT, REPO_ROOT

from support.courses import COURSE_NOTEBOOKS


def _graded(cell, grade_id, *, grade, solution, points=0):
    cell.id = grade_id
    cell.metadata["nbgrader"] = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
        **({"points": points} if grade else {}),
    }
    return cell


TEST_SOURCE = '''"""double(x) doubles x."""
numbers = [1.0, 2.0]
assert double(2) == 4, "Doubling: double(2) should be 4"
### BEGIN HIDDEN TESTS
assert double(-3) == -6, "Doubling: negative numbers too"
### END HIDDEN TESTS'''

CORPUS = """
notebook = "toy"

[[answers]]
exercise = "double"
kind = "wrong"
name = "adds two"
concept = ["doubling"]
code = "def double(x):\\n    return x + 1"

[[answers]]
exercise = "double"
kind = "wrong"
name = "squares (caught, but the message does not name it)"
concept = ["square"]
code = "def double(x):\\n    numbers.append(99.0)\\n    return x * x"

[[answers]]
exercise = "double"
kind = "shortcut"
name = "calls a helper"
code = "def double(x):\\n    raise RuntimeError('write this yourself: helper switched off')"

[[answers]]
exercise = "double"
kind = "correct"
name = "adds x to itself"
code = "def double(x):\\n    return x + x"

[[answers]]
exercise = "double"
kind = "correct"
name = "wrongly listed as correct"
code = "def double(x):\\n    return 2 * abs(x)"

[[answers]]
exercise = "double"
kind = "wrong"
name = "a wrong answer the weak tests let through"
concept = ["doubling"]
code = "def double(x):\\n    return {2: 4, -3: -6}.get(x, 0)"

[[claims]]
markdown = "intro"
phrase = "prints about 42"
output = "measure"
pattern = 'value (\\d+)'
value = 42
rtol = 0.1

[[claims]]
markdown = "intro"
phrase = "and about 7"
output = "measure"
pattern = 'other (\\d+)'
value = 7
rtol = 0.1
"""


@pytest.fixture(scope="module")
def toy_reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy-course")
    (root / "toy").mkdir()
    notebook = new_notebook(
        cells=[
            _id(new_markdown_cell("The cell below prints about 42 and about 7."), "intro"),
            _id(new_code_cell('print("value 41, other 9")'), "measure"),
            _graded(
                new_code_cell("def double(x):\n    return 2 * x"), "answer-double", grade=False, solution=True
            ),
            _graded(new_code_cell(TEST_SOURCE), "test-double", grade=True, solution=False, points=1),
            _id(new_code_cell("assert numbers == [1.0, 2.0], 'a candidate leaked its changes'"), "after"),
        ]
    )
    nbformat.write(notebook, root / "toy" / "toy.ipynb")
    (root / "toy.answers.toml").write_text(CORPUS)
    return check_course(root, "toy")


def _id(cell, cell_id):
    cell.id = cell_id
    return cell


def _outcome(reports, name):
    return next(o for r in reports for o in r.outcomes if o.candidate.name.startswith(name))


def test_wrong_answers_fail_where_the_tests_catch_them(toy_reports):
    adds_two = _outcome(toy_reports, "adds two")
    assert (adds_two.failed_in, adds_two.names_concept, adds_two.ok) == ("visible", True, True)
    assert "Doubling: double(2) should be 4" in adds_two.message


def test_a_wrong_answer_that_passes_and_a_message_that_misses_are_reported(toy_reports):
    leaked = _outcome(toy_reports, "a wrong answer the weak tests")
    assert leaked.passed and not leaked.ok
    squares = _outcome(toy_reports, "squares")
    assert squares.failed_in == "hidden" and not squares.names_concept
    text = format_report(toy_reports)
    assert "a wrong answer the weak tests let through: PASSES (must fail)" in text
    assert "squares (caught, but the message does not name it): caught, message misses the concept" in text
    assert "expected a message naming one of ['square']" in text


def test_correct_alternatives_must_pass(toy_reports):
    assert _outcome(toy_reports, "adds x to itself").ok
    wrongly = _outcome(toy_reports, "wrongly listed")
    assert wrongly.failed_in == "hidden" and not wrongly.ok
    assert "wrongly listed as correct: FAILS (must pass)" in format_report(toy_reports)


def test_shortcuts_are_judged_by_the_switched_off_message(toy_reports):
    shortcut = _outcome(toy_reports, "calls a helper")
    assert shortcut.ok and shortcut.names_concept


def test_candidates_cannot_spoil_the_state_of_the_next_one(toy_reports):
    # the "squares" candidate appended to `numbers`; the reference cell after the test checks it is back
    assert toy_reports[0].problems == []


def test_claims_check_the_prose_against_what_the_notebook_printed(toy_reports):
    results = {result.claim.phrase: result for result in toy_reports[0].claims}
    assert results["prints about 42"].ok and results["prints about 42"].printed == 41
    assert not results["and about 7"].ok
    assert "printed 9" in results["and about 7"].problem


def test_the_verdict_fails_on_any_of_those(toy_reports):
    summary = verdict(toy_reports)
    assert (summary.must_fail, summary.caught, summary.correct, summary.correct_passed) == (4, 3, 2, 1)
    assert not summary.ok
    assert format_report(toy_reports).endswith("check-exercises: FAILED")


def test_test_cells_split_into_visible_and_hidden_parts():
    visible, hidden = split_test(TEST_SOURCE)
    assert "double(2)" in visible and "double(-3)" not in visible
    assert "double(-3)" in hidden and "BEGIN HIDDEN" not in hidden


def test_a_corpus_entry_without_its_concept_is_refused(tmp_path):
    path = tmp_path / "bad.answers.toml"
    path.write_text(
        textwrap.dedent(
            """
            notebook = "toy"
            [[answers]]
            exercise = "double"
            kind = "wrong"
            name = "no concept"
            code = "x = 1"
            """
        )
    )
    with pytest.raises(
        ValueError, match="bad.answers.toml, answers entry 1 .no concept.: a wrong answer needs"
    ):
        read_corpus(path)
    path.write_text('notebook = "toy"\n[[answers]]\nexercise = "d"\nkind = "typo"\nname = "n"\ncode = ""\n')
    with pytest.raises(ValueError, match="kind must be one of"):
        read_corpus(path)


# --------------------------------------------------------------------------- the course itself

COURSE_SOLUTIONS = REPO_ROOT / "solutions"


def _exercises(name: str) -> list[str]:
    notebook = nbformat.read(COURSE_SOLUTIONS / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    grade_ids = [cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "") for cell in notebook.cells]
    return [grade_id.removeprefix("test-") for grade_id in grade_ids if grade_id.startswith("test-")]


@pytest.mark.parametrize("name", COURSE_NOTEBOOKS)
def test_every_course_exercise_has_wrong_answers_shortcuts_and_a_correct_alternative(name):
    files = corpus_files(COURSE_SOLUTIONS)
    assert name in files, f"no corpus file solutions/{name}.answers.toml"
    corpus = read_corpus(files[name])
    assert corpus.notebook == name
    for exercise in _exercises(name):
        kinds = [c.kind for c in corpus.candidates if c.exercise == exercise]
        assert sum(kind != "correct" for kind in kinds) >= 4, (
            f"{name} {exercise}: at least four wrong answers or shortcuts"
        )
        assert "shortcut" in kinds, f"{name} {exercise}: at least one helper shortcut"
        assert "correct" in kinds, f"{name} {exercise}: at least one correct-but-different answer"


@pytest.mark.slow
def test_the_course_catches_every_wrong_answer_and_shortcut_and_passes_every_correct_one():
    """What `course check-exercises` checks (it runs in `make test` through this test)."""
    reports = check_course(COURSE_SOLUTIONS, ASSIGNMENT, jobs=2)
    assert sorted(report.notebook for report in reports) == sorted(COURSE_NOTEBOOKS)
    summary = verdict(reports)
    print(format_report(reports))
    assert summary.ok, format_report(reports)
    assert summary.shortcuts_passing == 0
