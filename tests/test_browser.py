"""The course as students see it: JupyterLab in headless Chromium, live widgets, and mentors' links.

One JupyterLab server (loopback, free port, no token) serves a temporary copy of the course with
the *solution* notebooks, so every cell runs without raising. Chromium is Debian's
(``python -m course_tools.browser_setup`` installs it); a missing browser fails these tests, it
never skips them. Screenshots land in ``artifacts/screenshots/``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lab_driver import (
    LabServer,
    chromium_missing_message,
    close_notebook,
    drag_slider,
    extension_state,
    first_figure_cell,
    heading_ids,
    heading_position,
    notebook_outputs,
    open_browser,
    open_lab,
    open_notebook,
    output_fingerprint,
    run_all_cells,
    show_cell,
    slider_readout,
    wait_for_notebook_from_url,
    wait_until_idle,
    where_is_cell,
)

from course_tools import links

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

REPO = Path(__file__).resolve().parents[1]
ASSIGNMENT = "learning-rate"
SOLUTIONS = REPO / "solutions" / ASSIGNMENT
SCREENSHOTS = REPO / "artifacts" / "screenshots"
NOTEBOOKS = sorted(path.name for path in SOLUTIONS.glob("*.ipynb"))
EXPECTED_NOTEBOOKS = 6

RUN_TIMEOUT_S = 240  # a notebook runs in about 30 s; the rest is headroom for a busy machine
SLIDER_UPDATE_TIMEOUT_S = 90  # a fixed-rate slider retrains a model before its plot changes
# Where a slider lives in the source: a course_utils explorer or a bare ipywidgets slider.
SLIDER_IN_SOURCE = re.compile(r"_explorer\(|FloatLogSlider\(|FloatSlider\(|IntSlider\(")


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory) -> Path:
    """The server's root: the solution notebooks as ``learning-rate/*.ipynb`` and the nbgrader config."""
    root = tmp_path_factory.mktemp("lab-course")
    shutil.copytree(SOLUTIONS, root / ASSIGNMENT, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copyfile(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    return root


@pytest.fixture(scope="module")
def lab_server(course_copy):
    problem = chromium_missing_message()
    if problem:
        pytest.fail(problem)  # these tests must run in CI: fail loudly instead of skipping
    with LabServer(course_copy) as server:
        yield server


@pytest.fixture(scope="module")
def browser(lab_server, tmp_path_factory):
    with open_browser(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture(scope="module")
def lab_page(lab_server, browser):
    page = browser.new_page()
    open_lab(page, lab_server)
    yield page
    page.close()


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def _wait_for(predicate, timeout_s: float, interval_s: float = 0.25):
    """Poll ``predicate`` until it returns something truthy; return that, or None after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    return None


def test_the_course_has_six_notebooks():
    assert len(NOTEBOOKS) == EXPECTED_NOTEBOOKS, (
        f"expected {EXPECTED_NOTEBOOKS} notebooks in {SOLUTIONS}: {NOTEBOOKS}"
    )


def test_nbgrader_extensions_load(lab_page):
    """nbgrader's JupyterLab plugins are active: its menu, its commands, its validate button."""
    state = extension_state(lab_page)
    expected = {
        "@jupyter/nbgrader:menu",
        "@jupyter/nbgrader:assignment-list",
        "@jupyter/nbgrader:course-list",
        "@jupyter/nbgrader:create-assignment",
        "@jupyter/nbgrader:validate-assignment",
    }
    assert expected <= set(state["active"]), f"inactive nbgrader plugins: {expected - set(state['active'])}"
    assert {"nbgrader:open-assignment-list", "nbgrader:open-formgrader"} <= set(state["commands"]), state
    assert "Nbgrader" in state["menus"], state["menus"]
    open_notebook(lab_page, f"{ASSIGNMENT}/{NOTEBOOKS[0]}")
    try:
        toolbar = lab_page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Toolbar")
        assert toolbar.get_by_text("Validate", exact=True).count() >= 1, "no nbgrader Validate button"
    finally:
        close_notebook(lab_page)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_runs_and_its_sliders_update(lab_page, course_copy, notebook):
    """Run all cells: no error output; every slider, moved with the mouse, changes what its widget shows."""
    page, stem = lab_page, Path(notebook).stem
    source = (SOLUTIONS / notebook).read_text(encoding="utf-8")
    open_notebook(page, f"{ASSIGNMENT}/{notebook}")
    try:
        started = time.monotonic()
        run_all_cells(page, timeout_s=RUN_TIMEOUT_S)
        print(f"{notebook}: ran all cells in {time.monotonic() - started:.1f} s")
        outputs = notebook_outputs(page)
        figure = first_figure_cell(page)
        if figure >= 0:
            show_cell(page, figure)
        _screenshot(page, stem)
        assert not outputs["errors"], f"{notebook} raised: {outputs['errors']}"

        moved = 0
        for index in outputs["widgetCells"]:
            cell = show_cell(page, index)
            assert cell.get_by_text("Error displaying widget").count() == 0, (
                f"{notebook}: widget failed to render"
            )
            sliders = cell.locator(".widget-slider")
            for number in range(sliders.count()):
                slider = sliders.nth(number)
                before, readout = output_fingerprint(page, index), slider_readout(slider)
                drag_slider(page, slider)
                assert _wait_for(lambda s=slider, r=readout: slider_readout(s) != r, 10), (
                    f"{notebook}, cell {index}: the slider did not move (readout stays {readout!r})"
                )
                changed = _wait_for(
                    lambda i=index, b=before: output_fingerprint(page, i) != b, SLIDER_UPDATE_TIMEOUT_S
                )
                wait_until_idle(page, timeout_s=SLIDER_UPDATE_TIMEOUT_S)
                moved += 1
                print(
                    f"{notebook}: slider {moved} moved; output changed: {bool(changed)} "
                    f"({time.monotonic() - started:.1f} s in)"
                )
                _screenshot(page, f"{stem}-slider-{moved}")
                assert changed, (
                    f"{notebook}, cell {index}: moving slider {number + 1} from {readout} to "
                    f"{slider_readout(slider)} did not change its plot or text"
                )
        if SLIDER_IN_SOURCE.search(source):
            assert moved >= 1, f"{notebook} builds a slider but none appeared in the page"

        # The anchors `course link` prints are the ids JupyterLab gives the rendered headings.
        expected = [
            t.anchor
            for t in links.notebook_targets(course_copy / ASSIGNMENT / notebook, course_copy)
            if t.anchor
        ]
        assert [h["id"] for h in heading_ids(page)] == expected
    finally:
        close_notebook(page)


def _course_link(text: str, base_url: str, notebook: str) -> dict:
    """What a mentor gets from `course link TEXT --format json` (the real command, in a subprocess)."""
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "course"),
            "link",
            text,
            "--root",
            str(REPO),
            "--base-url",
            base_url,
            "--notebook",
            notebook,
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _cell_id_at(notebook: str, position: int) -> str:
    path = REPO / "notebooks" / ASSIGNMENT / notebook
    return [t for t in links.notebook_targets(path, REPO) if t.heading is None][position].cell_id


def _heading_on_top(page, anchor: str) -> dict | None:
    position = heading_position(page, anchor) or {}
    return position if position.get("visible") and position["top"] < 450 else None


def _heading_lands(page, anchor: str) -> dict | None:
    return _wait_for(lambda: _heading_on_top(page, anchor), 15)


def _lands_on_cell(page, cell_id: str) -> dict | None:
    """The cell is on screen, its top in the upper half of the notebook's view."""

    def landed():
        where = where_is_cell(page, cell_id)
        if where and where.get("visible") and where["cellTop"] < where["viewHeight"] / 2:
            return where
        return None

    return _wait_for(landed, 15)


def _follow_in_new_tab(browser, url: str, notebook_path: str):
    """Open ``url`` the way a student follows a forum link: a fresh page load in a new tab."""
    page = browser.new_page()
    page.goto(url, wait_until="domcontentloaded")
    wait_for_notebook_from_url(page, notebook_path)
    return page


def test_links_from_course_link_land_on_the_cell_and_the_section(lab_server, lab_page, browser):
    """Follow the `#cell-id=` and section URLs `course link` prints: the notebook opens at that place.

    On a fresh page load JupyterLab 4.6 alone drops the fragment (it applies it to the notebook
    that is current when the page routes, before the linked one has opened); the course's
    extension `course-utils-links` applies it once the notebook is ready. Links are followed in a
    new tab, as from a forum post (JupyterLab moves that tab to a workspace of its own while the
    student's tab is open), then in the student's tab: a fresh load, then links inside the open
    notebook, which JupyterLab routes without a reload.
    """
    notebook = next(name for name in NOTEBOOKS if name.startswith("02_"))
    notebook_path = f"{ASSIGNMENT}/{notebook}"
    first_cell = _course_link(_cell_id_at(notebook, 0), lab_server.url, notebook)
    last_cell = _course_link(_cell_id_at(notebook, -1), lab_server.url, notebook)
    section = _course_link("Tune the Learning Rate", lab_server.url, notebook)
    for info in (first_cell, last_cell, section):
        assert info["notebook"] == f"notebooks/{notebook_path}", info
    assert "course-utils-links:open-at-fragment" in extension_state(lab_page)["courseLinks"], (
        "the course's JupyterLab extension is not active: pip install -e . (it ships in share/jupyter)"
    )

    new_tab_targets = (
        (last_cell["cell_url"], "link-cell-id-new-tab", lambda p: _lands_on_cell(p, last_cell["cell_id"])),
        (section["section_url"], "link-section-new-tab", lambda p: _heading_lands(p, section["anchor"])),
    )
    for url, name, landed in new_tab_targets:
        page = _follow_in_new_tab(browser, url, notebook_path)
        try:
            where = landed(page)
            _screenshot(page, name)
            assert where, f"a fresh load of {url} in a new tab did not open at its target"
        finally:
            close_notebook(page)
            page.close()

    # The student's own tab: a fresh load, then links inside the open notebook (route changes).
    page = lab_page
    try:
        page.goto(last_cell["cell_url"], wait_until="domcontentloaded")
        wait_for_notebook_from_url(page, notebook_path)
        assert _lands_on_cell(page, last_cell["cell_id"]), (
            f"a fresh load of {last_cell['cell_url']} did not open at the cell: "
            f"{where_is_cell(page, last_cell['cell_id'])}"
        )
        page.goto(first_cell["cell_url"])  # same notebook, new fragment: no reload
        assert _lands_on_cell(page, first_cell["cell_id"]), "the first cell's link did not scroll back up"
        assert not where_is_cell(page, last_cell["cell_id"])["visible"], "notebook 2 fits on one screen"
        page.goto(section["section_url"])
        assert _heading_lands(page, section["anchor"]), (
            f"{section['section_url']} did not show the heading: {heading_position(page, section['anchor'])}"
        )
        page.goto(last_cell["cell_url"])
        where = _lands_on_cell(page, last_cell["cell_id"])
        _screenshot(page, "link-cell-id")
        assert where, f"{last_cell['cell_url']} did not bring the cell into view"
    finally:
        if page.url.startswith(lab_server.url):
            close_notebook(page)
