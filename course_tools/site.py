"""The course as a static web site: ``course site`` writes it to ``site/``, ready to publish.

Forum answers are read by people who are not on the mentor's machine, and a repository viewer does
not scroll to a notebook's anchors. The site gives every link a place that opens anywhere: one HTML
page per release notebook (``notebooks/<assignment>/<name>.ipynb`` becomes
``<assignment>/<name>.html``), executed so its figures and printed numbers are there, and an index
listing the notebooks and their sections.

* **Same fragments as JupyterLab.** Headings keep the ids nbconvert gives them, which are
  JupyterLab's (the rendered text with spaces as ``-``); every cell's wrapper carries
  ``id="cell-id=<id>"``. A link's fragment works in both places (:mod:`course_tools.links`).
* **As students get them.** Pages are built from the release (never from ``solutions/``), so the
  exercises are the stubs students see. Their answer cells raise ``NotImplementedError`` and their
  test cells fail; execution goes on past those errors (``allow_errors``), and the page shows such
  cells as exercises with a short note instead of a traceback. An error anywhere else stops the
  build: a page with a broken cell is not published.
* **Figures in words.** Every figure's ``alt`` text says what it shows (titles, axes, scales,
  ranges, legend; :mod:`course_tools.figure_alt`), and a figure shown in a widget is described too.
* **Nothing from another host.** The pages use nbconvert's ``lab`` template without its scripts
  (require.js, MathJax, Mermaid and the widget manager all come from CDNs); styles are inlined.
  Widgets (the explorers' sliders) become static: their figure and text as the notebook left them,
  with a note that the slider moves in JupyterLab.

Notebooks run one at a time, each in a fresh kernel started in its own folder, with a time limit per
cell and per notebook. The site is built in a scratch folder next to the output and moved into place
only when every page is ready.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_tools import links
from course_tools.figure_alt import ALT_KEY

#: Where ``course site`` writes the site, relative to the course root (git-ignored).
DEFAULT_OUTPUT = "site"
#: Per-cell limit (seconds), the same as nbgrader's ``Execute.timeout`` in ``nbgrader_config.py``.
CELL_TIMEOUT_S = 120
#: Per-notebook limit (seconds), the same as ``course grade --notebook-timeout``.
NOTEBOOK_TIMEOUT_S = 600
#: The kernel every page runs in (the course notebooks' kernelspec).
KERNEL_NAME = "python3"
#: The JupyterLab extension's settings, written from ``[tool.course]`` (see :func:`sync_extension_config`).
EXTENSION_CONFIG = Path("course_utils") / "labextension" / "static" / "course-links.json"

TEMPLATE_DIR = Path(__file__).resolve().parent / "site_template"
TEMPLATE_NAME = "course-site"
SITE_TITLE = "Choosing a learning rate"

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
#: Cell tags the page styles (the lab template turns a tag into the class ``celltag_<tag>``).
TAG_ANSWER, TAG_TESTS, TAG_TASK = "course-exercise-answer", "course-exercise-tests", "course-exercise-task"

# Run in the kernel before the notebook's cells: describe every figure shown (figure_alt.install).
_KERNEL_SETUP = """\
from course_tools.figure_alt import install as _course_site_install
_course_site_install()
del _course_site_install
"""
_SETUP_CELL_ID = "course-site-setup"

ANSWER_NOTE = (
    "<strong>Exercise: your answer goes here.</strong> In the notebook, replace "
    "<code>raise NotImplementedError()</code> with your code, run this cell, then run the test cell below."
)
TESTS_NOTE = (
    "<strong>Tests for the exercise above.</strong> They run in your notebook once you have written your "
    "answer; the message of a failing test says what was expected. On this page the exercise is blank, so "
    "they have nothing to check."
)

CSS = """
body { margin: 0; }
main { max-width: 1100px; margin: 0 auto; padding: 0 1rem 2rem; }
.course-nav { display: flex; gap: 1.5rem; flex-wrap: wrap; padding: 0.6rem 1rem; margin: 0 auto;
  max-width: 1100px; font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.95rem; }
.course-nav a { color: #1a5fb4; text-decoration: none; }
.course-nav a:hover { text-decoration: underline; }
.course-nav .course-nav-here { color: #555; }
a.anchor-link { display: inline; visibility: hidden; margin-left: 0.3em; text-decoration: none; color: #1a5fb4; }
h1:hover > a.anchor-link, h2:hover > a.anchor-link, h3:hover > a.anchor-link,
h4:hover > a.anchor-link, h5:hover > a.anchor-link, h6:hover > a.anchor-link { visibility: visible; }
.jp-Cell, h1, h2, h3, h4, h5, h6 { scroll-margin-top: 1rem; }
.jp-Cell:target { outline: 3px solid #f5c211; outline-offset: 2px; border-radius: 2px; }
h1:target, h2:target, h3:target, h4:target, h5:target, h6:target { background: #fff6cc; }
.celltag_course-exercise-answer, .celltag_course-exercise-tests {
  border-left: 4px solid #3584e4; background: #f3f8fe; padding-left: 4px; }
.course-note { font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.95rem; line-height: 1.45;
  padding: 0.5rem 0.75rem; border-radius: 4px; background: #e8f1fc; color: #1c2833; }
.course-widget-note { background: #eef7ee; }
.course-widget-text { font-family: var(--jp-ui-font-family, sans-serif); padding: 0.25rem 0.75rem; }
"""

INDEX_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.5;
  color: #1c2833; margin: 0; }
main { max-width: 52rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.9rem; margin-bottom: 0.25rem; }
h2 { font-size: 1.3rem; margin: 1.8rem 0 0.2rem; }
a { color: #1a5fb4; }
.purpose { margin: 0.2rem 0 0.4rem; }
ul.sections { margin: 0.2rem 0; padding-left: 1.2rem; }
ul.sections ul { padding-left: 1.2rem; }
code { background: #f1f3f5; padding: 0 0.2em; border-radius: 3px; }
footer { margin-top: 2.5rem; font-size: 0.9rem; color: #555; }
"""


class SiteError(RuntimeError):
    """A page cannot be built: a cell outside the exercises failed, or a notebook ran out of time."""


@dataclass
class Section:
    anchor: str
    title: str
    level: int


@dataclass
class Page:
    """One built page: the release notebook it shows and what is on it."""

    notebook: str  # path relative to the course root, e.g. notebooks/learning-rate/02_sweep.ipynb
    path: str  # page path relative to the site root, e.g. learning-rate/02_sweep.html
    title: str
    purpose: str = ""
    sections: list[Section] = field(default_factory=list)
    seconds: float = 0.0
    figures: int = 0
    exercise_cells: int = 0


@dataclass
class Site:
    root: Path
    pages: list[Page]


# --------------------------------------------------------------------------- configuration


def extension_config(root: Path | str | None = None) -> dict:
    """What the JupyterLab extension needs to copy links: the site address and the course's notebooks."""
    base = Path(root) if root is not None else links.course_root()
    notebooks = [
        Path(path).relative_to(base / links.RELEASE_DIR).as_posix()
        for path in links.notebook_paths(base, links.RELEASE_DIR)
    ]
    return {
        "//": "Written by `course site` from [tool.course] in pyproject.toml; do not edit by hand.",
        "siteUrl": links.configured_site_url(base),
        "notebooks": notebooks,
    }


def extension_config_text(root: Path | str | None = None) -> str:
    return json.dumps(extension_config(root), indent=2) + "\n"


def sync_extension_config(root: Path | str | None = None) -> bool:
    """Rewrite the extension's ``course-links.json`` from the configuration; True if it changed."""
    base = Path(root) if root is not None else links.course_root()
    path = base / EXTENSION_CONFIG
    text = extension_config_text(base)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


# --------------------------------------------------------------------------- running a notebook


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def exercise_role(cell) -> str | None:
    """``answer``, ``tests`` or ``task`` for the cells of an nbgrader exercise; None otherwise."""
    flags = _nbgrader(cell)
    if cell.cell_type == "code" and flags.get("solution"):
        return "answer"
    if cell.cell_type == "code" and flags.get("grade"):
        return "tests"
    if cell.cell_type == "markdown" and (flags.get("task") or flags.get("solution") or flags.get("grade")):
        return "task"
    return None


def execute_notebook(
    path: Path,
    *,
    cell_timeout: float = CELL_TIMEOUT_S,
    notebook_timeout: float = NOTEBOOK_TIMEOUT_S,
    kernel_name: str = KERNEL_NAME,
) -> NotebookNode:
    """Run ``path`` top to bottom in a fresh kernel in its folder, going on past errors.

    Figures get their description (``figure_alt``) and the widgets' state is kept in the
    notebook's metadata. Raises :class:`SiteError` when the notebook runs out of time.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    notebook = nbformat.read(path, as_version=4)
    setup = nbformat.v4.new_code_cell(_KERNEL_SETUP, id=_SETUP_CELL_ID)
    notebook.cells.insert(0, setup)
    client = NotebookClient(
        notebook,
        timeout=cell_timeout,
        kernel_name=kernel_name,
        allow_errors=True,
        store_widget_state=True,
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )

    # The kernel's own stderr (TensorFlow's start-up lines, ipykernel's warnings) goes to a log that
    # is shown only when the run fails; what the cells print is in their outputs.
    with tempfile.TemporaryFile(mode="w+b", prefix="course-site-kernel-") as kernel_log:

        async def run():
            return await asyncio.wait_for(
                client.async_execute(stdout=subprocess.DEVNULL, stderr=kernel_log), notebook_timeout
            )

        def failure(reason: str) -> SiteError:
            kernel_log.seek(0)
            tail = kernel_log.read().decode(errors="replace").strip().splitlines()[-20:]
            return SiteError(f"{path.name}: {reason}" + ("\nkernel log:\n" + "\n".join(tail) if tail else ""))

        try:
            asyncio.run(run())
        except TimeoutError as error:
            raise failure(f"did not finish within notebook_timeout={notebook_timeout} s") from error
        except (CellTimeoutError, DeadKernelError) as error:
            raise failure(f"{type(error).__name__}: {error}") from error
    if any(output.get("output_type") == "error" for output in setup.outputs):
        raise SiteError(f"{path.name}: the site's kernel set-up failed: {setup.outputs}")
    notebook.cells.remove(setup)
    return notebook


# --------------------------------------------------------------------------- making it a page


def _note(text: str, kind: str = "course-exercise-note") -> NotebookNode:
    return nbformat.v4.new_output(
        "display_data", data={"text/html": f'<div class="course-note {kind}">{text}</div>', "text/plain": ""}
    )


def _add_tag(cell, tag: str) -> None:
    tags = list(cell.metadata.get("tags", []))
    if tag not in tags:
        cell.metadata["tags"] = [*tags, tag]


def _comment_line(source: str) -> str:
    """The first comment of a code cell (``# Optional figure: the rate ...`` -> ``Optional figure: the rate ...``)."""
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            return stripped.lstrip("#").strip()
        if stripped:
            return ""
    return ""


def _strip_html(text: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


class _Widgets:
    """The widget models a notebook left behind (nbclient's saved state), to show them statically."""

    def __init__(self, notebook: NotebookNode):
        state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {})
        self.models = state.get("state", {})

    def _model(self, reference) -> tuple[str, dict] | None:
        model_id = reference[len("IPY_MODEL_") :] if str(reference).startswith("IPY_MODEL_") else reference
        model = self.models.get(model_id)
        return (model.get("model_name", ""), model.get("state", {})) if model else None

    def static_outputs(self, model_id: str) -> tuple[list[NotebookNode], list[str]]:
        """Outputs showing what the widget ``model_id`` shows now, and the controls it has."""
        outputs: list[NotebookNode] = []
        controls: list[str] = []
        self._walk(model_id, outputs, controls, seen=set())
        return outputs, controls

    def _walk(self, reference, outputs, controls, seen) -> None:
        found = self._model(reference)
        if found is None or str(reference) in seen:
            return
        seen.add(str(reference))
        name, state = found
        if name == "OutputModel":
            outputs.extend(nbformat.from_dict(output) for output in state.get("outputs", []))
        elif name in ("HTMLModel", "HTMLMathModel", "LabelModel"):
            if str(state.get("value", "")).strip():
                value = state["value"] if name != "LabelModel" else html.escape(state["value"])
                outputs.append(
                    nbformat.v4.new_output(
                        "display_data",
                        data={
                            "text/html": f'<div class="course-widget-text">{value}</div>',
                            "text/plain": _strip_html(value),
                        },
                    )
                )
        elif "Slider" in name:
            label = state.get("description") or "slider"
            value = state.get("value")
            shown = (
                f"{value:{state.get('readout_format', '.3g')}}" if isinstance(value, int | float) else value
            )
            controls.append(f"the slider “{html.escape(str(label))}” (here at {html.escape(str(shown))})")
        elif name in ("DropdownModel", "ToggleButtonsModel", "RadioButtonsModel", "SelectModel"):
            labels = state.get("_options_labels", [])
            index = state.get("index")
            shown = labels[index] if isinstance(index, int) and 0 <= index < len(labels) else "none"
            label = state.get("description") or "menu"
            controls.append(f"the menu “{html.escape(str(label))}” (here: {html.escape(str(shown))})")
        elif name in ("FloatProgressModel", "IntProgressModel"):
            pass  # a progress bar's text sits in the HTML next to it
        for child in state.get("children", []):
            self._walk(child, outputs, controls, seen)


def _describe_unlabelled(cell, number: int) -> str:
    comment = _comment_line(cell.source)
    return f"{comment} (figure {number} of this cell)" if comment else f"Figure {number} of the cell above"


def prepare_page_notebook(notebook: NotebookNode) -> tuple[NotebookNode, dict]:
    """The executed notebook as the page shows it; raises SiteError for errors outside the exercises.

    Exercise cells get a tag (their style) and a note in place of their error output; widgets become
    their figure and text plus a note on their controls; every image gets an ``alt`` text.
    Returns the notebook and counts (``figures``, ``exercise_cells``).
    """
    widgets = _Widgets(notebook)
    problems = []
    figures = exercises = 0
    for index, cell in enumerate(notebook.cells):
        role = exercise_role(cell)
        if role is not None:
            exercises += 1
            _add_tag(cell, {"answer": TAG_ANSWER, "tests": TAG_TESTS, "task": TAG_TASK}[role])
        if cell.cell_type != "code":
            continue
        if role in ("answer", "tests"):
            cell.outputs = [_note(ANSWER_NOTE if role == "answer" else TESTS_NOTE)]
            continue
        outputs = []
        for output in cell.outputs:
            if output.get("output_type") == "error":
                problems.append(
                    f"cell {index} ({cell.get('id')}): {output.get('ename')}: {output.get('evalue')}"
                )
                continue
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                shown, controls = widgets.static_outputs(data[WIDGET_VIEW].get("model_id", ""))
                if controls:
                    outputs.append(
                        _note(
                            "<strong>Interactive in JupyterLab:</strong> "
                            + "; ".join(controls)
                            + ". Run the notebook to move it; this page shows the state it started in.",
                            "course-widget-note",
                        )
                    )
                outputs.extend(shown)
                continue
            outputs.append(output)
        for output in outputs:
            data = output.get("data", {})
            if "image/png" in data or "image/jpeg" in data:
                figures += 1
                metadata = output.setdefault("metadata", {})
                if not str(metadata.get(ALT_KEY, "")).strip():
                    metadata[ALT_KEY] = _describe_unlabelled(cell, figures)
                comment = _comment_line(cell.source)
                if comment and comment not in metadata[ALT_KEY]:
                    metadata[ALT_KEY] = f"{comment} {metadata[ALT_KEY]}"
        cell.outputs = outputs
    if problems:
        raise SiteError("cells outside the exercises raised errors:\n  " + "\n  ".join(problems))
    notebook.metadata.pop("widgets", None)
    return notebook, {"figures": figures, "exercise_cells": exercises}


# --------------------------------------------------------------------------- HTML


def _exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input_prompt=False,
    )


def _relative(from_page: str, to_page: str) -> str:
    """The link from one page of the site to another (both relative to the site root)."""
    depth = from_page.count("/")
    return "../" * depth + to_page


def _nav(page: Page, previous: Page | None, following: Page | None) -> str:
    items = [f'<a href="{_relative(page.path, "index.html")}">All notebooks</a>']
    if previous is not None:
        items.append(
            f'<a href="{_relative(page.path, previous.path)}" rel="prev">← {html.escape(previous.title)}</a>'
        )
    items.append(f'<span class="course-nav-here">{html.escape(page.title)}</span>')
    if following is not None:
        items.append(
            f'<a href="{_relative(page.path, following.path)}" rel="next">{html.escape(following.title)} →</a>'
        )
    return '<nav class="course-nav" aria-label="course">' + " ".join(items) + "</nav>"


def render_page(notebook: NotebookNode, page: Page, previous: Page | None, following: Page | None) -> str:
    notebook.metadata["title"] = f"{page.title} · {SITE_TITLE}"
    nav = _nav(page, previous, following)
    resources = {
        "metadata": {"name": Path(page.path).stem},
        "course_site": {"css": CSS, "nav_top": nav, "nav_bottom": nav},
    }
    body, _ = _exporter().from_notebook_node(notebook, resources=resources)
    return body


def _markdown_inline(text: str) -> str:
    from nbconvert.filters.markdown import markdown2html

    return markdown2html(text).strip()


def page_outline(path: Path, root: Path) -> tuple[str, str, list[Section]]:
    """A notebook's title (its first H1), purpose (the paragraph under it) and sections (H2, H3)."""
    targets = links.notebook_targets(path, root)
    headings = [t for t in targets if t.heading is not None]
    title_target = next((t for t in headings if t.level == 1), None)
    title = title_target.heading if title_target else path.stem
    purpose = ""
    if title_target is not None:
        notebook = nbformat.read(path, as_version=4)
        source = notebook.cells[title_target.cell_index].source
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", source) if p.strip()]
        text = next((p for p in paragraphs if not p.lstrip().startswith("#")), "")
        purpose = " ".join(text.split())
    sections = [Section(t.anchor, t.heading, t.level) for t in headings if t.level in (2, 3)]
    return title, purpose, sections


def render_index(pages: list[Page]) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
        f"<title>{html.escape(SITE_TITLE)}</title>",
        f"<style>{INDEX_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        f"<h1>{html.escape(SITE_TITLE)}</h1>",
        "<p>Six notebooks on choosing a learning rate with TensorFlow/Keras, run once so that every "
        "figure and number is on the page. The exercises are shown as students get them. Open a "
        "notebook in your own JupyterLab to run it, move the sliders and do the exercises.</p>",
    ]
    for page in pages:
        parts.append(f'<h2><a href="{page.path}">{html.escape(page.title)}</a></h2>')
        if page.purpose:
            parts.append(f'<div class="purpose">{_markdown_inline(page.purpose)}</div>')
        parts.append('<ul class="sections">')
        open_sub = False
        for section in page.sections:
            item = f'<li><a href="{page.path}#{links._fragment(section.anchor)}">{html.escape(section.title)}</a>'
            if section.level == 3:
                if not open_sub:
                    parts.append("<ul>")
                    open_sub = True
                parts.append(item + "</li>")
            else:
                if open_sub:
                    parts.append("</ul>")
                    open_sub = False
                parts.append(item + "</li>")
        if open_sub:
            parts.append("</ul>")
        parts.append("</ul>")
    parts += [
        "<footer>Built with <code>course site</code> from the course's release notebooks.</footer>",
        "</main>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


# --------------------------------------------------------------------------- the whole site


def build_site(
    root: Path | str | None = None,
    output: Path | str | None = None,
    *,
    execute: bool = True,
    cell_timeout: float = CELL_TIMEOUT_S,
    notebook_timeout: float = NOTEBOOK_TIMEOUT_S,
    log: Callable[[str], None] | None = print,
) -> Site:
    """Build the site of the release in ``root/notebooks`` into ``output`` (default ``root/site``).

    ``execute=False`` renders the notebooks without running them (no outputs; quick, for a look at
    the structure). Raises :class:`SiteError` when a page cannot be built; the previous site stays
    in place then.
    """
    base = Path(root) if root is not None else links.course_root()
    target = Path(output) if output is not None else base / DEFAULT_OUTPUT
    if not target.is_absolute():
        target = Path.cwd() / target
    paths = links.notebook_paths(base, links.RELEASE_DIR)
    if not paths:
        raise FileNotFoundError(f"no notebooks under {base / links.RELEASE_DIR}; nothing to publish.")
    say = log or (lambda message: None)

    pages = []
    for path in paths:
        relative = path.relative_to(base).as_posix()
        title, purpose, sections = page_outline(path, base)
        pages.append(Page(relative, links.site_page(relative), title, purpose, sections))

    scratch = target.with_name(f".{target.name}.partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        for number, (path, page) in enumerate(zip(paths, pages, strict=True)):
            started = time.monotonic()
            if execute:
                notebook = execute_notebook(
                    path, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout
                )
            else:
                notebook = nbformat.read(path, as_version=4)
            try:
                notebook, counts = prepare_page_notebook(notebook)
            except SiteError as error:
                raise SiteError(f"{page.notebook}: {error}") from None
            page.figures, page.exercise_cells = counts["figures"], counts["exercise_cells"]
            previous = pages[number - 1] if number > 0 else None
            following = pages[number + 1] if number + 1 < len(pages) else None
            destination = scratch / page.path
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(render_page(notebook, page, previous, following), encoding="utf-8")
            page.seconds = time.monotonic() - started
            say(
                f"{page.path}: {page.figures} figure(s), {page.exercise_cells} exercise cell(s), {page.seconds:.1f} s"
            )
        (scratch / "index.html").write_text(render_index(pages), encoding="utf-8")
        (scratch / ".nojekyll").write_text("", encoding="utf-8")  # GitHub Pages: serve the files as they are
        if target.exists():
            shutil.rmtree(target)
        scratch.rename(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Site(target, pages)
