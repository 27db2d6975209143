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
from urllib.parse import unquote, urlsplit

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
    wait_for_app,
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


def _course_link(text: str, base_url: str, notebook: str, output_format: str = "json"):
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
            output_format,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if output_format == "json" else result.stdout.strip()


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

    return _wait_for(landed, 30)  # a second tab on a loaded machine can take a while


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


# --------------------------------------------------------------------------- "Copy Link to This Cell"

COPY_LABEL = "Copy Link to This Cell"
# The two links of a copied line: [title](site link) ([open in JupyterLab](JupyterLab link)).
COPIED_LINE = re.compile(
    r"^\[[^\]]+\]\(<?(?P<site>[^)>\s]+)>?\) \(\[open in JupyterLab\]\(<?(?P<lab>[^)>\s]+)>?\)\)$"
)

_JS_ACTIVATE_CELL = """
(cellId) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const index = notebook.widgets.findIndex(w => w.model.id === cellId);
  notebook.activeCellIndex = index;
  notebook.mode = 'command';
  return index;
}
"""


def _serve_site(context, site_root: Path) -> None:
    """Answer requests for the published site's address from the built site (no network needed)."""
    published = links.configured_site_url()
    prefix = urlsplit(published)

    def matches(url: str) -> bool:
        parts = urlsplit(url)
        return parts.netloc.lower() == prefix.netloc.lower() and parts.path.startswith(
            prefix.path.rstrip("/") + "/"
        )

    def fulfil(route):
        parts = urlsplit(route.request.url)
        relative = unquote(parts.path[len(prefix.path.rstrip("/")) + 1 :]) or "index.html"
        path = site_root / relative
        if path.is_file() and path.resolve().is_relative_to(site_root.resolve()):
            route.fulfill(path=str(path))
        else:
            route.fulfill(status=404, body="not in the built site")

    context.route(matches, fulfil)


def _clipboard(page) -> str:
    return page.evaluate("() => navigator.clipboard.readText()")


def _lands_on_site_element(page, element_id: str) -> dict | None:
    """The element is the page's :target, and the page scrolled it to the top of the window (or as far
    as the page goes, for an element near its end)."""
    where = page.evaluate(
        """(id) => {
          const element = document.getElementById(id);
          if (!element) return {found: false};
          const box = element.getBoundingClientRect();
          const atEnd = window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2;
          const target = document.querySelector(':target');
          return {found: true, top: box.top, isTarget: target === element, scrollY: window.scrollY, atEnd,
                  height: window.innerHeight};
        }""",
        element_id,
    )
    if not (where.get("found") and where["isTarget"] and where["scrollY"] > 0):
        return None
    on_top = -5 <= where["top"] < 120
    return where if on_top or (where["atEnd"] and 0 <= where["top"] < where["height"]) else None


def _course_link_line(course_copy: Path, notebook_path: str, cell_id: str, base_url: str) -> str:
    """The line `course link <cell id> --format markdown` prints for this cell of the server's notebook.

    (The server shows the solutions, whose cells may read differently from the release that `course
    link` searches; tests/test_copy_link.py compares the command's rules with Python's on every cell.)
    """
    targets = links.notebook_targets(course_copy / notebook_path, course_copy)
    target = next(t for t in targets if t.cell_id == cell_id)  # a cell's headings come before it
    found = links.build_links(target, base_url=base_url, lab_root="", site_url=links.configured_site_url())
    return found.as_markdown()


def test_copy_link_to_this_cell_lands_on_the_cell_in_jupyterlab_and_on_the_site(
    lab_server, lab_page, browser, course_site, course_copy
):
    """The cell context menu and the command palette copy `course link`'s markdown line; its two links,
    opened in new tabs, land on the cell (or section) in JupyterLab and on the built course site."""
    notebook = next(name for name in NOTEBOOKS if name.startswith("02_"))
    notebook_path = f"{ASSIGNMENT}/{notebook}"
    code_cell = _cell_id_at(notebook, -1)
    browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_server.url)
    _serve_site(browser, course_site)
    page = lab_page
    page.goto(f"{lab_server.url}/lab?reset", wait_until="domcontentloaded")
    wait_for_app(page)
    open_notebook(page, notebook_path)
    try:
        # a code cell at the bottom of the notebook, from its context menu
        index = page.evaluate(_JS_ACTIVATE_CELL, code_cell)
        cell = show_cell(page, index)
        cell.locator(".jp-InputArea-editor").click(button="right")
        item = page.locator(".lm-Menu .lm-Menu-item", has_text=COPY_LABEL)
        item.wait_for(timeout=10_000)
        _screenshot(page, "copy-link-context-menu")
        item.click()
        from_menu = _wait_for(lambda: (text := _clipboard(page)) and COPIED_LINE.match(text) and text, 10)
        assert from_menu, f"nothing like a copied link on the clipboard: {_clipboard(page)!r}"
        assert from_menu == _course_link_line(course_copy, notebook_path, code_cell, lab_server.url)

        # the section of a heading cell, from the command palette
        page.evaluate(_JS_ACTIVATE_CELL, "tune-the-learning-rate")
        page.evaluate("() => navigator.clipboard.writeText('')")
        page.evaluate("() => window.jupyterapp.commands.execute('apputils:activate-command-palette')")
        palette = page.locator("#command-palette input, .jp-ModalCommandPalette input").first
        palette.fill(COPY_LABEL)
        page.locator(".lm-CommandPalette-item", has_text=COPY_LABEL).first.wait_for(timeout=10_000)
        palette.press("Enter")
        from_palette = _wait_for(lambda: (text := _clipboard(page)) and COPIED_LINE.match(text) and text, 10)
        assert from_palette == _course_link_line(
            course_copy, notebook_path, "tune-the-learning-rate", lab_server.url
        )
        assert from_palette == _course_link("Tune the Learning Rate", lab_server.url, "02", "markdown")
    finally:
        close_notebook(page)

    landings = (
        (from_menu, f"cell-id={code_cell}", lambda p: _lands_on_cell(p, code_cell)),
        (from_palette, "Tune-the-Learning-Rate", lambda p: _lands_on_cell(p, "tune-the-learning-rate")),
    )
    for line, site_id, lands_in_lab in landings:
        match = COPIED_LINE.match(line)
        assert match["site"].startswith(
            links.configured_site_url() + "/" + links.site_page(f"notebooks/{notebook_path}")
        )
        tab = browser.new_page()
        try:
            tab.goto(match["site"], wait_until="load")
            where = _wait_for(lambda t=tab, i=site_id: _lands_on_site_element(t, i), 10)
            _screenshot(tab, f"copied-link-site-{site_id[:20]}")
            assert where, f"{match['site']} did not open at #{site_id}"
        finally:
            tab.close()
        # A second new tab on the same notebook, on a loaded machine, sometimes opens before JupyterLab
        # has settled its workspace and stays at the top (seen in one full run of two); a second fresh
        # load of the same link is what a student would do, and must land.
        for attempt in (1, 2):
            tab = _follow_in_new_tab(browser, match["lab"], notebook_path)
            try:
                where = lands_in_lab(tab)
                _screenshot(tab, f"copied-link-lab-{site_id[:20]}-{attempt}")
            finally:
                close_notebook(tab)
                tab.close()
            if where:
                break
        assert where, f"{match['lab']} did not open at its cell in JupyterLab, twice"
