"""nbgrader's Validate button, pressed in JupyterLab as a student presses it before handing in.

A student's JupyterLab (headless Chromium, loopback, no token) serves a folder holding a completed
notebook (the solution of the course's longest notebook, in a student's place) and a blank copy
from the release. The folder has no ``nbgrader_config.py``, as in the student bundle or any folder
a student starts JupyterLab in: the course's per-cell limit must come from the course package
(``course_utils/jupyter_config/nbgrader_config.json``, installed in ``<environment>/etc/jupyter``),
because nbgrader's own default, 30 s, is below what the course's slowest cells take on a busy
machine. Validate runs the whole notebook inside one request to the server, so the longest notebook
is the one to press it on.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from lab_driver import (
    LabServer,
    chromium_missing_message,
    close_notebook,
    open_browser,
    open_lab,
    open_notebook,
)

from course_tools import site

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "learning-rate"
SCREENSHOTS = REPO / "artifacts" / "screenshots"
# The course's longest notebook to run: about 70 s for the solution on 2 busy cores (measured with
# nbclient; notebook 6 is next at about 60 s). A blank copy of a short one shows the failures.
LONGEST = "05_reinit_per_rate.ipynb"
BLANK = "02_sweep.ipynb"
VALIDATE_TIMEOUT_S = 600  # the per-notebook budget of `course grade`; one run takes about a minute
PASSES = "Success! Your notebook passes all the tests."

# What nbgrader's server extension does when the button asks it to validate: load the config from
# the Jupyter config path and the server's working folder (here: each folder given).
_EFFECTIVE_TIMEOUTS = """
import os, sys
from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
for folder in sys.argv[1:]:
    os.chdir(folder)
    execute = ValidateAssignmentHandler.load_config(None).Execute
    print(execute.timeout if "timeout" in execute else "unset")
"""


def test_validate_gets_the_course_cell_limit_wherever_jupyterlab_starts(tmp_path):
    """Without a nbgrader_config.py in the folder, Validate still gets the course's 120 s per cell."""
    anywhere = tmp_path / "anywhere"
    anywhere.mkdir()
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), "JUPYTER_PLATFORM_DIRS": "1"}
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")  # no user config
    done = subprocess.run(
        [sys.executable, "-c", _EFFECTIVE_TIMEOUTS, str(anywhere), str(REPO)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    in_anywhere, in_repository = done.stdout.split()[-2:]
    assert in_anywhere == str(site.CELL_TIMEOUT_S), (
        "the course package's etc/jupyter/nbgrader_config.json is not installed (run `make env`)"
    )
    assert in_repository == str(site.CELL_TIMEOUT_S), "nbgrader_config.py sets another limit"
    shipped = json.loads((REPO / "course_utils" / "jupyter_config" / "nbgrader_config.json").read_text())
    assert shipped["Execute"]["timeout"] == site.CELL_TIMEOUT_S


@pytest.fixture(scope="module")
def student_folder(tmp_path_factory) -> Path:
    """A folder as a student has it: a completed notebook and a blank one, and no nbgrader config."""
    root = tmp_path_factory.mktemp("student")
    (root / ASSIGNMENT).mkdir()
    shutil.copyfile(REPO / "solutions" / ASSIGNMENT / LONGEST, root / ASSIGNMENT / LONGEST)
    (root / "blank" / ASSIGNMENT).mkdir(parents=True)
    shutil.copyfile(REPO / "notebooks" / ASSIGNMENT / BLANK, root / "blank" / ASSIGNMENT / BLANK)
    return root


@pytest.fixture(scope="module")
def lab_page(student_folder, tmp_path_factory):
    problem = chromium_missing_message()
    if problem:
        pytest.fail(problem)
    with LabServer(student_folder) as server, open_browser(tmp_path_factory.mktemp("chromium")) as context:
        page = context.new_page()
        open_lab(page, server)
        yield page
        page.close()


def _press_validate(page, path: str, name: str) -> tuple[str, str, float]:
    """Open ``path``, press Validate, wait for the dialog; its title, its text and the seconds it took."""
    open_notebook(page, path)
    try:
        toolbar = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar")
        button = toolbar.get_by_text("Validate", exact=True)
        started = time.monotonic()
        button.click()
        dialog = page.locator(".jp-Dialog")
        dialog.first.wait_for(timeout=VALIDATE_TIMEOUT_S * 1000)
        seconds = time.monotonic() - started
        assert dialog.count() == 1, "more than one dialog"
        title = dialog.locator(".jp-Dialog-header").inner_text().strip()
        body = dialog.locator(".jp-Dialog-body").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"validate-{name}.png"))
        dialog.get_by_role("button").last.click()
        dialog.first.wait_for(state="detached", timeout=10_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .validate-button')]"
            ".some(b => b.textContent.trim() === 'Validate' && !b.querySelector('[disabled]'))",
            timeout=10_000,
        )
        print(f"{path}: Validate answered in {seconds:.1f} s")
        return title, body, seconds
    finally:
        close_notebook(page)


def test_validate_passes_the_completed_longest_notebook(lab_page):
    title, body, seconds = _press_validate(lab_page, f"{ASSIGNMENT}/{LONGEST}", "completed")
    assert title == "Validation Results", f"an error dialog instead of the results: {title!r}: {body[:2000]}"
    assert PASSES in body, body[:3000]
    assert seconds < VALIDATE_TIMEOUT_S


def test_validate_lists_every_failing_test_of_a_blank_notebook(lab_page):
    title, body, _ = _press_validate(lab_page, f"blank/{ASSIGNMENT}/{BLANK}", "blank")
    assert title == "Validation Results", f"an error dialog instead of the results: {title!r}: {body[:2000]}"
    assert PASSES not in body
    assert "There was an error" not in body and "Timeout" not in body, body[:3000]
    cells = nbformat.read(REPO / "notebooks" / ASSIGNMENT / BLANK, as_version=4).cells
    tests = [
        cell for cell in cells if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    ]
    assert body.count("The following cell failed:") == len(tests), body[:3000]
    for cell in tests:
        first_line = re.match(r'"""([^\n]*?)(?:"""|\n)', cell.source.strip()).group(1).strip()
        assert " ".join(first_line.split()) in " ".join(body.split()), (
            f"the failing test {cell.id!r} is not named in the dialog"
        )
    assert "NotImplementedError" in body
