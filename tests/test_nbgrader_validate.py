"""The real ``nbgrader validate`` command, as an instructor and a student would run it.

``validate`` must pass every source notebook in ``solutions/`` (hidden tests included), and
``validate --invert`` must find no passing test in the untouched student release in ``notebooks/``.
Each command runs every notebook of the assignment once, in a copy of the course, with the
repository's ``nbgrader_config.py`` (its ``Execute.timeout`` applies).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from course_tools.notebook_format import ASSIGNMENT, REPO_ROOT, default_config_file, run_nbgrader

pytestmark = pytest.mark.slow

VALIDATE_TIMEOUT_S = 1200  # all six notebooks run in about 3 minutes on 2 cores
PASSES = "Success! Your notebook passes all the tests."
PASSES_NONE = "Success! The notebook does not pass any tests."


def _copy(folder: str, tmp_path: Path) -> list[Path]:
    """The notebooks of ``folder/ASSIGNMENT`` copied under ``tmp_path``, beside the course's config."""
    target = tmp_path / folder / ASSIGNMENT
    shutil.copytree(
        REPO_ROOT / folder / ASSIGNMENT, target, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
    )
    shutil.copyfile(default_config_file(), tmp_path / "nbgrader_config.py")
    notebooks = sorted(target.glob("*.ipynb"))
    assert len(notebooks) == 6, f"expected the six course notebooks in {target}, found {notebooks}"
    return notebooks


def _verdicts(output: str, notebooks: list[Path]) -> dict[str, str]:
    """What ``nbgrader validate`` said about each notebook: the text after its "Validating" line."""
    parts = re.split(r"Validating '([^']+)'", output)
    said = {Path(parts[i]).name: parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    assert set(said) == {n.name for n in notebooks}, f"nbgrader validated {sorted(said)}:\n{output[-3000:]}"
    return said


def _validate(notebooks: list[Path], course_root: Path, *options: str) -> dict[str, str]:
    result = run_nbgrader(
        ["validate", *options, *map(str, notebooks)],
        course_root,
        timeout=VALIDATE_TIMEOUT_S,
        merge_stderr=True,
    )
    return _verdicts(result.stdout, notebooks)


def test_nbgrader_validate_passes_every_solution(tmp_path):
    notebooks = _copy("solutions", tmp_path)
    verdicts = _validate(notebooks, tmp_path)
    failing = {name: text.strip()[-1500:] for name, text in verdicts.items() if PASSES not in text}
    assert not failing, f"nbgrader validate fails these solution notebooks: {failing}"


def test_nbgrader_validate_invert_finds_no_passing_test_in_the_release(tmp_path):
    notebooks = _copy("notebooks", tmp_path)
    verdicts = _validate(notebooks, tmp_path, "--invert")
    passing = {name: text.strip()[-1500:] for name, text in verdicts.items() if PASSES_NONE not in text}
    assert not passing, f"the blank release passes tests in: {passing}"
