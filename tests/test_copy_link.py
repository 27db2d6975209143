"""The command "Copy Link to This Cell" copies the line `course link --format markdown` prints.

The JupyterLab command (course_utils/labextension/static/remoteEntry.js) rebuilds the links in the
browser from the cell's id, type and source, following course_tools/links.py rule for rule. Here
its link rules run in Chromium on every cell of the release and on a notebook of awkward cells,
and must give exactly what Python gives. (tests/test_browser.py presses the command in JupyterLab
and follows the copied links.)
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from lab_driver import chromium_missing_message, open_browser

from course_tools import links, site

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
EXTENSION = REPO / "course_utils" / "labextension" / "static" / "remoteEntry.js"
BASE_URL = "http://localhost:8888"
SITE_URL = "https://example.org/lr-course"

_JS_CELL_LINKS = """
async ([cells, where]) => {
  const factory = await window._JUPYTERLAB['course-utils-links'].get('./links');
  const rules = factory();
  return cells.map(cell => rules.cellLinks(cell, where));
}
"""


@pytest.fixture(scope="module")
def link_rules(tmp_path_factory):
    """A blank page in Chromium with the extension's script loaded; call ``link_rules(cells, where)``."""
    problem = chromium_missing_message()
    if problem:
        pytest.fail(problem)
    with open_browser(tmp_path_factory.mktemp("chromium-profile")) as context:
        page = context.new_page()
        page.set_content("<!DOCTYPE html><html><body></body></html>")
        page.add_script_tag(path=str(EXTENSION))
        yield lambda cells, where: page.evaluate(_JS_CELL_LINKS, [cells, where])
        page.close()


def _python_links(notebook: Path, root: Path, site_url: str) -> list[links.Links]:
    """For each cell, what `course link <cell id> --format markdown` builds (its first heading, else the cell)."""
    first: dict[int, links.Target] = {}
    for target in links.notebook_targets(notebook, root):
        first.setdefault(target.cell_index, target)
    return [links.build_links(first[index], base_url=BASE_URL, site_url=site_url) for index in sorted(first)]


def _js_cells(notebook: Path) -> list[dict]:
    cells = nbformat.read(notebook, as_version=4).cells
    return [
        {"id": cell.get("id"), "type": cell.cell_type, "source": cell.source, "index": index}
        for index, cell in enumerate(cells)
    ]


def _compare(link_rules, notebook: Path, root: Path, server_path: str, notebooks: list[str]) -> int:
    expected = _python_links(notebook, root, SITE_URL)
    where = {"path": server_path, "baseUrl": BASE_URL + "/", "siteUrl": SITE_URL, "notebooks": notebooks}
    got = link_rules(_js_cells(notebook), where)
    assert len(got) == len(expected)
    for python, js in zip(expected, got, strict=True):
        assert js["markdown"] == python.as_markdown(), python.target.describe()
        assert (js["site_url"], js["cell_url"], js["section_url"]) == (
            python.site_url,
            python.cell_url,
            python.section_url,
        ), python.target.describe()
    return len(got)


def test_every_cell_of_the_release_gets_the_line_course_link_prints(link_rules):
    config = site.extension_config(REPO)
    compared = 0
    for notebook in links.notebook_paths(REPO):
        # `make lab` serves notebooks/
        server_path = notebook.relative_to(REPO / links.RELEASE_DIR).as_posix()
        compared += _compare(link_rules, notebook, REPO, server_path, config["notebooks"])
    assert compared > 100


AWKWARD_CELLS = [
    ("markdown", "## Loss &amp; rate: *why* `lr` [matters](https://example.org) __here__"),
    ("markdown", "### Shape a schedule (optional)\n\nText."),
    ("markdown", "# Über die Lernrate: ein **Titel** mit Umlauten"),
    ("markdown", "```python\n# not a heading\n```\n## Closed heading ##"),
    ("markdown", r"## A \* star, a \_ score and <b>bold</b> tags"),
    (
        "markdown",
        "Plain text, no heading, but a long first line that goes on and on past seventy-two characters.",
    ),
    ("code", "#### a comment as the first line\nx = 1"),
    ("code", "value = compute(" + "argument, " * 10 + ")"),
    ("code", ""),
    ("raw", "raw text"),
    ("markdown", "   ## Indented heading with trailing spaces   "),
    ("markdown", "#Not a heading (no space)\n\n## Second line is"),
]


def test_awkward_headings_and_cells_match_python(link_rules, tmp_path):
    """Emphasis, code, links, entities, escapes, parentheses, non-ASCII text, fences, long lines, empty cells."""
    cells = []
    for number, (kind, source) in enumerate(AWKWARD_CELLS):
        maker = {
            "markdown": nbformat.v4.new_markdown_cell,
            "code": nbformat.v4.new_code_cell,
            "raw": nbformat.v4.new_raw_cell,
        }[kind]
        cells.append(maker(source, id=f"awkward-{number}"))
    cells.append(nbformat.v4.new_code_cell("x = 2", id="0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.nbformat_minor = 5
    path = tmp_path / "notebooks" / "learning-rate" / "09 odd (copy).ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, str(path))
    notebooks = ["learning-rate/09 odd (copy).ipynb"]
    assert _compare(link_rules, path, tmp_path, "learning-rate/09 odd (copy).ipynb", notebooks) == len(cells)
    # served from the course root instead of notebooks/: the same site page, a longer JupyterLab path
    where = {
        "path": "notebooks/" + notebooks[0],
        "baseUrl": BASE_URL,
        "siteUrl": SITE_URL,
        "notebooks": notebooks,
    }
    [link] = link_rules(
        [{"id": "awkward-1", "type": "markdown", "source": AWKWARD_CELLS[1][1], "index": 1}], where
    )
    assert (
        link["site_url"] == SITE_URL + "/learning-rate/09%20odd%20%28copy%29.html#Shape-a-schedule-(optional)"
    )
    assert link["markdown"].startswith("[09 odd (copy).ipynb: Shape a schedule (optional)](<https://")
    assert link["cell_url"] == (
        BASE_URL + "/lab/tree/notebooks/learning-rate/09%20odd%20%28copy%29.ipynb#cell-id=awkward-1"
    )


def test_a_notebook_outside_the_course_gets_the_jupyterlab_link_only(link_rules):
    where = {
        "path": "scratch/mine.ipynb",
        "baseUrl": BASE_URL + "/",
        "siteUrl": SITE_URL,
        "notebooks": ["learning-rate/02_sweep.ipynb"],
    }
    [link] = link_rules([{"id": "my-cell", "type": "code", "source": "print(1)", "index": 0}], where)
    assert link["site_url"] is None
    assert (
        link["markdown"] == f"[mine.ipynb: print(1)]({BASE_URL}/lab/tree/scratch/mine.ipynb#cell-id=my-cell)"
    )
    no_site = dict(where, path="learning-rate/02_sweep.ipynb", siteUrl=None)
    [link] = link_rules([{"id": "my-cell", "type": "code", "source": "print(1)", "index": 0}], no_site)
    assert link["site_url"] is None and json.dumps(link).count("/lab/tree/") == 2
