"""Numbers in the notebooks' prose: every one is a fixed fact of the course or a checked claim.

A number a notebook *measures* (a loss, a ratio, an epoch count that depends on the seed or the
machine) may appear in markdown only as a ``[[claims]]`` entry of its corpus file, which
``course check-exercises`` compares with what the notebook prints (tests/course_tools/test_check_exercises.py).
Every other number written with digits must be a fact that no run can change: a constant the
notebook's code sets (``NUM_EPOCHS = 40``, ``1e-8``), or one listed below with the reason it is
fixed. A new measured number in prose fails here until it is made a claim or the prose refers to
the printed value instead.
"""

from __future__ import annotations

import importlib
import re

import nbformat
import pytest

from course_tools.check_exercises import corpus_files, read_corpus
from course_tools.notebook_format import ASSIGNMENT, REPO_ROOT

SOLUTIONS = REPO_ROOT / "solutions"
NOTEBOOKS = sorted(path.stem for path in (SOLUTIONS / ASSIGNMENT).glob("*.ipynb"))

# Numbers fixed by the course's design, not measured: the reason each cannot change with a run.
FIXED = {
    "331": "weights of the Dense 10-10-1 model on windows of 20: 20*10+10 + 10*10+10 + 10+1",
    "980": "training windows: 1000 training days minus the window of 20",
    "1461": "days of the synthetic series (four years)",
    "461": "validation days: 1461 minus the 1000 training days",
    "5": "the standard deviation of the synthetic series' noise (course_utils.data)",
    "25": "the variance of that noise (5 squared): the MSE floor",
    "100": "epochs (and rates) of the lesson's sweep",
    "40": "the epoch at which the lesson's sweep reaches 1e-6: 1e-8 * 10**(40 / 20)",
}
#: Numbers the prose takes from the package's constants: fixed, and checked against the package below.
PACKAGE_CONSTANTS = {
    "14": ("course_utils.suggest", "REACTION_STEPS"),
    "2.5": ("course_utils.suggest", "VALLEY_DIVISOR"),
}
_NUMBER = re.compile(r"(?<![\w.\-])(\d+(?:\.\d+)?(?:e-?\d+)?)(?![\w.])")
# Numbering and references, not quantities: "## 2.", "Exercise 1", "notebook 3", "section 4", "(2 points)".
_REFERENCE = re.compile(
    r"(^#+ \d+\.|(?:[Ee]xercise|[Nn]otebook|[Ss]ection|[Ss]tep|[Pp]art)s? \d+(?:\s*(?:and|to|-|,)\s*\d+)*|\(\d+ points?\)|\d+\.\s)",
    re.M,
)


def _prose(source: str) -> str:
    """Markdown without code spans, code blocks, links' targets and references."""
    text = re.sub(r"```.*?```", " ", source, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return _REFERENCE.sub(" ", text)


def _code_literals(notebook) -> set[str]:
    literals = set()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            literals |= set(_NUMBER.findall(cell.source))
    return literals


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_number_in_the_prose_is_fixed_or_a_checked_claim(name):
    notebook = nbformat.read(SOLUTIONS / ASSIGNMENT / f"{name}.ipynb", as_version=4)
    files = corpus_files(SOLUTIONS)
    claims = read_corpus(files[name]).claims if name in files else []
    literals = _code_literals(notebook)
    unexplained = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        text = " ".join(cell.source.split())
        for claim in claims:
            if claim.markdown == cell.id:
                text = text.replace(claim.phrase, " ")
        for number in _NUMBER.findall(_prose(text)):
            fixed = (
                number in FIXED
                or number in PACKAGE_CONSTANTS
                or any(_same_number(number, literal) for literal in literals)
            )
            if not fixed:
                unexplained.append(f"{cell.id}: {number}")
    assert not unexplained, (
        f"{name}: numbers in the prose that are neither set by the notebook's code, nor fixed by the "
        f"course (FIXED), nor a [[claims]] entry of solutions/{name}.answers.toml: {unexplained}"
    )


@pytest.mark.parametrize("number", sorted(PACKAGE_CONSTANTS))
def test_numbers_taken_from_the_package_match_its_constants(number):
    module, name = PACKAGE_CONSTANTS[number]
    assert float(getattr(importlib.import_module(module), name)) == float(number), (
        f"the prose says {number} for {module}.{name}; update the notebooks' prose and this table"
    )


def test_the_scanner_catches_a_measured_number():
    prose = _prose(
        "After 20 epochs the loss fell from about 5800 to 540 (see `lr = 1e-6`), as in notebook 1."
    )
    found = _NUMBER.findall(prose)
    assert found == ["20", "5800", "540"]
