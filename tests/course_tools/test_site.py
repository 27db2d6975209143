"""``course site``: the static course site, checked page by page.

The real site is built once per test session (the ``course_site`` fixture in ``conftest.py``, shared
by the xdist workers): every release notebook executed, one at a time. The checks read its files
(anchors, text, images, what each page would load) and open every page in Chromium to see that it
requests nothing from another host. A few small courses check the builder's rules quickly.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from course_tools import links, site
from course_tools.cli import main as course_main

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "learning-rate"
RELEASE = REPO / "notebooks" / ASSIGNMENT
SOURCE = REPO / "solutions" / ASSIGNMENT
FAQ = REPO / "docs" / "faq.md"
RELEASE_NOTEBOOKS = sorted(RELEASE.glob("*.ipynb"))

# Elements and attributes through which a page loads something (not <a href>, which is a link).
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "use": ("href", "xlink:href"),
    "image": ("href", "xlink:href"),
}
LOADING_LINK_RELS = {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest", "import"}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""")


class Page(HTMLParser):
    """What one HTML page holds: ids, headings, images, what it loads, links, text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.heading_ids: list[str] = []
        self.images: list[dict] = []
        self.loads: list[str] = []
        self.links: list[str] = []
        self.text_parts: list[str] = []
        self.exercise_notes = 0
        self._style = False
        self.feed(text)
        self.close()

    @property
    def text(self) -> str:
        return "".join(self.text_parts)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.append(attributes["id"])
            if re.fullmatch(r"h[1-6]", tag):
                self.heading_ids.append(attributes["id"])
        if "style" in attributes:
            self.loads += [a or b for a, b in CSS_URL.findall(attributes["style"] or "")]
        for name in LOADING_ATTRIBUTES.get(tag, ()):
            if attributes.get(name):
                self.loads.append(attributes[name])
        if tag == "link" and set((attributes.get("rel") or "").lower().split()) & LOADING_LINK_RELS:
            self.loads.append(attributes.get("href") or "")
        if tag == "img":
            self.images.append(attributes)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "style":
            self._style = True
        if "course-exercise-note" in (attributes.get("class") or ""):
            self.exercise_notes += 1

    def handle_endtag(self, tag):
        if tag == "style":
            self._style = False

    def handle_data(self, data):
        if self._style:
            self.loads += [a or b for a, b in CSS_URL.findall(data)]
        else:
            self.text_parts.append(data)


def _is_local(url: str) -> bool:
    """A relative address or inline data: something the site itself holds."""
    if url.startswith("data:") or url.startswith("#"):
        return True
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


def _page_path(notebook: Path) -> str:
    return links.site_page(notebook.relative_to(REPO).as_posix())


@pytest.fixture(scope="module")
def pages(course_site) -> dict[str, Page]:
    """Every HTML file of the built site, parsed, by path relative to the site root."""
    return {
        path.relative_to(course_site).as_posix(): Page(path.read_text(encoding="utf-8"))
        for path in sorted(course_site.rglob("*.html"))
    }


# --------------------------------------------------------------------------- the real site


def test_every_release_notebook_has_a_page_listed_in_the_index(course_site, pages):
    assert len(RELEASE_NOTEBOOKS) == 6, RELEASE_NOTEBOOKS
    expected = {_page_path(path) for path in RELEASE_NOTEBOOKS}
    assert set(pages) == expected | {"index.html"}, sorted(pages)
    index = pages["index.html"]
    for notebook in RELEASE_NOTEBOOKS:
        page = _page_path(notebook)
        listed = [href for href in index.links if href.split("#")[0] == page]
        sections = [t for t in links.notebook_targets(notebook, REPO) if t.heading and t.level in (2, 3)]
        assert len(listed) == 1 + len(sections), (
            f"the index should link {page} and its {len(sections)} sections"
        )
    assert (course_site / ".nojekyll").is_file()


@pytest.mark.parametrize("notebook", RELEASE_NOTEBOOKS, ids=lambda path: path.stem)
def test_every_heading_and_cell_id_is_an_anchor_on_its_page(pages, notebook):
    """The fragments JupyterLab uses: ``#<Heading-Text>`` (same ids, in order) and ``#cell-id=<id>``."""
    page = pages[_page_path(notebook)]
    targets = links.notebook_targets(notebook, REPO)
    anchors = [t.anchor for t in targets if t.heading is not None]
    assert page.heading_ids == anchors
    cell_ids = [cell.id for cell in nbformat.read(notebook, as_version=4).cells]
    missing = [cell_id for cell_id in cell_ids if f"cell-id={cell_id}" not in page.ids]
    assert not missing, f"cells without an anchor on the page: {missing}"
    assert len(page.ids) == len(set(page.ids)), "an id appears twice on the page"


@pytest.mark.parametrize("notebook", RELEASE_NOTEBOOKS, ids=lambda path: path.stem)
def test_the_page_shows_outputs_and_exercises_as_students_get_them(pages, notebook):
    """Figures and printed numbers are there; exercise cells carry a note instead of a traceback."""
    page = pages[_page_path(notebook)]
    assert page.images, "no figure on the page: was the notebook executed?"
    assert re.search(r"\d\.\d", page.text), "no printed number on the page"
    cells = nbformat.read(notebook, as_version=4).cells
    code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
    for word in ("Traceback", "NotImplementedError:", "NameError:", "AssertionError:"):
        # the visible test code may name an error itself; an error *output* adds one more
        assert page.text.count(word) <= code.count(word), (
            f"{word!r} on the page: an error output was not replaced"
        )
    exercise_code = [cell for cell in cells if site.exercise_role(cell) in ("answer", "tests")]
    assert exercise_code, "the release has no exercises"
    assert page.exercise_notes == len(exercise_code)
    assert "raise NotImplementedError()" in page.text, (
        "the exercise stubs should be shown as students get them"
    )


@pytest.mark.parametrize("notebook", RELEASE_NOTEBOOKS, ids=lambda path: path.stem)
def test_no_solution_or_hidden_test_line_appears(pages, notebook):
    """Lines only the solutions and hidden tests hold are not on the page.

    As in tests/test_notebooks.py, a line that is public anywhere in the course (outside the hidden
    blocks of the sources, or in the release itself, which that test keeps clean) may appear.
    """
    text = pages[_page_path(notebook)].text
    source = nbformat.read(SOURCE / notebook.name, as_version=4)
    public = "\n".join(
        re.sub(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n.*?### END \1", "", cell.source, flags=re.S)
        for path in [*sorted(SOURCE.glob("*.ipynb")), *RELEASE_NOTEBOOKS]
        for cell in nbformat.read(path, as_version=4).cells
    )
    hidden = [
        line.strip()
        for cell in source.cells
        for part in re.findall(r"### BEGIN (?:SOLUTION|HIDDEN TESTS)\n(.*?)### END", cell.source, flags=re.S)
        for line in part.splitlines()
    ]
    hidden = [line for line in hidden if len(line) >= 12 and line not in public]
    assert hidden, "no solution or hidden-test lines to look for"
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    leaked = [line for line in hidden if line in text]
    assert not leaked, f"solution or hidden-test lines on the page: {leaked[:5]}"


def test_every_figure_has_a_text_alternative(pages):
    """Each image says what it shows: axes, scales, titles or the cell's own description."""
    total = 0
    for name, page in pages.items():
        for image in page.images:
            alt = (image.get("alt") or "").strip()
            assert alt and alt != "None", f"{name}: an image without alt text"
            assert re.search(r"axis|Optional figure|Plot", alt), f"{name}: alt text says little: {alt!r}"
            total += 1
    assert total >= 12, f"expected the course's figures on the site, found {total}"


def test_no_page_loads_anything_from_another_host(pages):
    """Scripts, styles, images, fonts and frames all come from the page itself (inline or relative)."""
    for name, page in pages.items():
        foreign = [url for url in page.loads if not _is_local(url)]
        assert not foreign, f"{name} loads from other hosts: {foreign}"
        for url in page.loads:
            if not url.startswith("data:"):
                assert not url.startswith("/"), f"{name}: {url!r} only works at the root of a host"


@pytest.mark.browser
def test_pages_load_nothing_but_their_own_files_in_chromium(course_site, tmp_path):
    """Opened in Chromium (no JavaScript needed), every page requests only its own file."""
    from lab_driver import chromium_missing_message, open_browser

    problem = chromium_missing_message()
    if problem:
        pytest.fail(problem)
    with open_browser(tmp_path / "profile") as context:
        requests = []
        context.on("request", lambda request: requests.append(request.url))
        page = context.new_page()
        for path in sorted(course_site.rglob("*.html")):
            requests.clear()
            page.goto(path.as_uri(), wait_until="load")
            foreign = [url for url in requests if not url.startswith(("file:", "data:"))]
            assert not foreign, f"{path.name} requested {foreign}"
            if path.name != "index.html":
                assert page.locator("img").count() >= 1
        page.close()


def test_faq_links_land_on_existing_anchors_in_the_built_site(course_site):
    """Every FAQ link into a notebook, site page or JupyterLab cell, names an element of the site."""
    site_url = links.configured_site_url()
    urls = re.findall(r"\]\((?:<([^>]+)>|([^)\s]+))\)", FAQ.read_text(encoding="utf-8"))
    urls = [bracketed or plain for bracketed, plain in urls]
    site_links = [url for url in urls if url.startswith(site_url + "/")]
    lab_links = [url for url in urls if "/lab/tree/" in url]
    assert len(site_links) >= 10 and len(site_links) == len(lab_links), (
        f"each FAQ link should come as a site link and a JupyterLab link; "
        f"{len(site_links)} site and {len(lab_links)} JupyterLab links"
    )
    ids_by_page: dict[str, list[str]] = {}
    broken = []
    for url in site_links + lab_links:
        address, _, fragment = url.partition("#")
        if url in site_links:
            page = unquote(address[len(site_url) + 1 :])
        else:
            page = unquote(address.split("/lab/tree/", 1)[1]).removesuffix(".ipynb") + ".html"
        path = course_site / page
        if not path.is_file():
            broken.append(f"{url}: no page {page}")
            continue
        if page not in ids_by_page:
            ids_by_page[page] = Page(path.read_text(encoding="utf-8")).ids
        if unquote(fragment) not in ids_by_page[page]:
            broken.append(f"{url}: {page} has no element with id {unquote(fragment)!r}")
    assert not broken, "FAQ links that miss the site:\n" + "\n".join(broken)


# --------------------------------------------------------------------------- configuration


def test_the_extension_config_is_written_from_pyproject():
    """course-links.json (read by "Copy link to this cell") agrees with [tool.course] and the release."""
    shipped = json.loads((REPO / site.EXTENSION_CONFIG).read_text(encoding="utf-8"))
    expected = site.extension_config(REPO)
    assert shipped == expected, (
        f"{site.EXTENSION_CONFIG} is out of date: run `course site` (or "
        "python -c 'from course_tools import site; site.sync_extension_config()')"
    )
    assert shipped["siteUrl"] and shipped["siteUrl"].startswith("https://")
    assert shipped["notebooks"] == [f"{ASSIGNMENT}/{path.name}" for path in RELEASE_NOTEBOOKS]


def test_sync_extension_config_rewrites_only_a_stale_file(tmp_path):
    course = tmp_path / "course"
    shutil.copytree(RELEASE, course / "notebooks" / ASSIGNMENT)
    (course / "pyproject.toml").write_text('[tool.course]\nsite_url = "https://example.org/lr/"\n')
    (course / site.EXTENSION_CONFIG).parent.mkdir(parents=True)
    assert site.sync_extension_config(course) is True
    written = json.loads((course / site.EXTENSION_CONFIG).read_text())
    assert written["siteUrl"] == "https://example.org/lr"
    assert site.sync_extension_config(course) is False


# --------------------------------------------------------------------------- the builder's rules


def _small_course(root: Path, cells: list) -> Path:
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.nbformat_minor = 5
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = root / "notebooks" / ASSIGNMENT / "01_small.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return root


def _nbgrader(cell, **flags):
    cell.metadata["nbgrader"] = {"grade_id": cell.id, "schema_version": 3, "locked": False, **flags}
    return cell


SMALL_CELLS = [
    nbformat.v4.new_markdown_cell("# A small notebook\n\nWhat it is for.", id="title"),
    nbformat.v4.new_markdown_cell("## 1. Numbers *and* a figure", id="numbers"),
    nbformat.v4.new_code_cell("print(f'loss {2 / 3:.4f}')", id="numbers-print"),
    nbformat.v4.new_code_cell(
        "# Optional figure: a straight line.\n"
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots()\n"
        "ax.semilogx([1, 10, 100], [3, 2, 1], label='loss')\n"
        "ax.set_xlabel('learning rate'); ax.set_title('Loss against rate'); ax.legend()\n"
        "plt.show()",
        id="numbers-figure",
    ),
    nbformat.v4.new_code_cell(
        "import ipywidgets as widgets\n"
        "widgets.VBox([widgets.FloatLogSlider(value=1e-3, min=-5, max=-1, description='lr', "
        "readout_format='.1e'), widgets.HTML('<b>lr = 1e-3</b>: inside the range')])",
        id="numbers-slider",
    ),
    _nbgrader(nbformat.v4.new_markdown_cell("### Exercise 1 (1 point)", id="task-one"), task=True),
    _nbgrader(
        nbformat.v4.new_code_cell(
            "def one():\n    # YOUR CODE HERE\n    raise NotImplementedError()", id="answer-one"
        ),
        solution=True,
        grade=False,
    ),
    _nbgrader(
        nbformat.v4.new_code_cell('"""one: returns 1."""\nassert one() == 1, "expected 1"', id="test-one"),
        grade=True,
        solution=False,
        points=1,
    ),
]


@pytest.mark.slow
def test_a_small_course_becomes_a_page_with_notes_alt_text_and_static_widgets(tmp_path, capsys):
    course = _small_course(tmp_path / "course", SMALL_CELLS)
    assert course_main(["site", "--root", str(course), "--output", str(tmp_path / "out")]) == 0
    assert "1 notebook pages" in capsys.readouterr().out
    page = Page((tmp_path / "out" / ASSIGNMENT / "01_small.html").read_text(encoding="utf-8"))
    assert "loss 0.6667" in page.text
    assert {"1.-Numbers-and-a-figure", "cell-id=answer-one", "cell-id=test-one"} <= set(page.ids)
    [image] = page.images
    assert image["alt"].startswith("Optional figure: a straight line. Plot: 'Loss against rate'")
    assert "x axis 'learning rate', log scale" in image["alt"] and "legend: loss" in image["alt"]
    assert "the slider “lr” (here at 1.0e-03)" in page.text and "inside the range" in page.text
    assert page.exercise_notes == 2 and "Traceback" not in page.text
    assert not [url for url in page.loads if not _is_local(url)]
    index = Page((tmp_path / "out" / "index.html").read_text(encoding="utf-8"))
    assert f"{ASSIGNMENT}/01_small.html#1.-Numbers-and-a-figure" in index.links


@pytest.mark.slow
def test_an_error_outside_the_exercises_stops_the_build_and_keeps_the_old_site(tmp_path, capsys):
    broken = [*SMALL_CELLS[:3], nbformat.v4.new_code_cell("1 / 0", id="numbers-broken")]
    course = _small_course(tmp_path / "course", broken)
    output = tmp_path / "out"
    output.mkdir()
    (output / "index.html").write_text("the published site")
    assert course_main(["site", "--root", str(course), "--output", str(output)]) == 1
    err = capsys.readouterr().err
    assert "numbers-broken" in err and "ZeroDivisionError" in err
    assert (output / "index.html").read_text() == "the published site"
    assert not list(tmp_path.glob(".out.partial*"))


def test_no_execute_renders_the_structure_without_running(tmp_path):
    course = _small_course(tmp_path / "course", SMALL_CELLS)
    built = site.build_site(course, tmp_path / "out", execute=False, log=None)
    [page] = built.pages
    assert (page.path, page.title, page.figures) == (f"{ASSIGNMENT}/01_small.html", "A small notebook", 0)
    html_page = Page((tmp_path / "out" / page.path).read_text(encoding="utf-8"))
    assert "cell-id=numbers-slider" in html_page.ids and html_page.exercise_notes == 2
