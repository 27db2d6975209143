"""Links into the course notebooks that a forum mentor can paste.

A mentor answering "why does the rate go up?" wants to point at one section or one cell, and
the link must still work next term. Two kinds of anchor survive editing and regeneration:

* a **heading anchor**, which JupyterLab derives from the rendered text of a markdown heading
  (the text with every space replaced by ``-``, e.g. ``#Tune-the-Learning-Rate``); nbconvert and
  nbviewer derive the same id, so the anchor also works in a repository viewer;
* a **cell id** (nbformat 4.5), which nbgrader keeps when it generates the student release and
  which JupyterLab 4 and nbconvert 7 resolve from the fragment ``#cell-id=<id>``.

The same fragments work on the course site (``course site``, :mod:`course_tools.site`): every
release notebook ``notebooks/<assignment>/<name>.ipynb`` has a page ``<assignment>/<name>.html``
under the site's address, whose headings carry the same ids and whose cells carry
``id="cell-id=<id>"``. The site's address is ``[tool.course] site_url`` in ``pyproject.toml``.

This module finds the section or cell a piece of text refers to and builds those links. It only
reads notebook JSON, so ``course link`` answers instantly and never imports TensorFlow.
"""

from __future__ import annotations

import html
import json
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from course_tools.grading.course import course_root

DEFAULT_BASE_URL = "http://localhost:8888"
RELEASE_DIR = "notebooks"
SOURCE_DIR = "solutions"
# A GitHub/GitLab repository address without a path gets this prefix before the file path.
DEFAULT_REF = "main"
#: Where the course's own settings live: ``[tool.course]`` in this file at the course root.
CONFIG_FILE = "pyproject.toml"

# Characters left alone in a URL fragment: the set nbconvert leaves unquoted in heading ids.
_FRAGMENT_SAFE = "?/:@!$&'()*+,;=-._~"
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SECTION_NUMBER = re.compile(r"^\s*(?:\d+(?:\.\d+)*\.?|[A-Z]\.)\s+")


def course_config(root: Path | str | None = None) -> dict:
    """The ``[tool.course]`` table of the course's ``pyproject.toml`` (empty when there is none)."""
    path = (Path(root) if root is not None else course_root()) / CONFIG_FILE
    if not path.is_file():
        return {}
    with open(path, "rb") as handle:
        return tomllib.load(handle).get("tool", {}).get("course", {})


def configured_site_url(root: Path | str | None = None) -> str | None:
    """The published course site's address (``[tool.course] site_url``), or None when unset."""
    value = course_config(root).get("site_url")
    if value is not None and not isinstance(value, str):
        raise ValueError(f"[tool.course] site_url must be a string URL; got {value!r}.")
    return value.rstrip("/") if value else None


def site_page(notebook: str, release_dir: str = RELEASE_DIR) -> str:
    """The site page of a release notebook: ``notebooks/learning-rate/02_sweep.ipynb`` -> ``learning-rate/02_sweep.html``."""
    path = notebook.strip("/")
    for folder in (release_dir, SOURCE_DIR):  # a source notebook has the same cells as its release
        prefix = folder.strip("/") + "/"
        if path.startswith(prefix):
            path = path[len(prefix) :]
            break
    if path.endswith(".ipynb"):
        path = path[: -len(".ipynb")]
    return path + ".html"


@dataclass(frozen=True)
class Target:
    """One place in a notebook a link can point to: a heading or a whole cell."""

    notebook: str  # path relative to the course root, with forward slashes
    cell_index: int
    cell_id: str | None
    cell_type: str
    heading: str | None = None  # plain text of the heading, when the target is a section
    level: int | None = None
    summary: str = ""  # first meaningful line of the cell, to tell candidates apart

    @property
    def kind(self) -> str:
        return "section" if self.heading is not None else "cell"

    @property
    def anchor(self) -> str | None:
        """JupyterLab's heading anchor (without ``#``), or None for a cell without a heading."""
        return heading_anchor(self.heading) if self.heading is not None else None

    def describe(self) -> str:
        where = f"{self.notebook}, cell {self.cell_index}"
        if self.cell_id:
            where += f" (id {self.cell_id})"
        title = f"section {self.heading!r}" if self.heading is not None else f"{self.cell_type} cell"
        line = f"{title} in {where}"
        if self.heading is None and self.summary:
            line += f": {self.summary}"
        return line


def _markdown_url(url: str) -> str:
    """A link destination markdown reads whole: in angle brackets if it holds parentheses."""
    return f"<{url}>" if any(char in url for char in "() ") else url


@dataclass(frozen=True)
class Links:
    """The links a mentor pastes for one target."""

    target: Target
    section_url: str | None  # JupyterLab URL with the heading anchor
    cell_url: str | None  # JupyterLab URL with #cell-id=
    repository: str  # path (or URL) for a repository viewer, with an anchor
    site_section_url: str | None = None  # the course site's page with the heading anchor
    site_cell_url: str | None = None  # the course site's page with #cell-id=

    @property
    def site_url(self) -> str | None:
        """The site link to paste: the section when the target is a heading, else the cell."""
        return self.site_section_url or self.site_cell_url

    def as_text(self) -> str:
        lines = [self.target.describe()]
        if self.site_section_url:
            lines.append(f"  site, section:       {self.site_section_url}")
        if self.site_cell_url:
            lines.append(f"  site, cell:          {self.site_cell_url}")
        if self.section_url:
            lines.append(f"  JupyterLab, section: {self.section_url}")
        if self.cell_url:
            lines.append(f"  JupyterLab, cell:    {self.cell_url}")
        lines.append(f"  repository:          {self.repository}")
        return "\n".join(lines)

    def as_markdown(self, title: str | None = None) -> str:
        """One line to paste: the site link (readable anywhere; the repository path when there is
        no site) and the JupyterLab cell link. The course's JupyterLab extension copies the same
        line ("Copy link to this cell")."""
        title = title or self.target.heading or self.target.summary or f"cell {self.target.cell_index}"
        name = Path(self.target.notebook).name
        parts = [f"[{name}: {title}]({_markdown_url(self.site_url or self.repository)})"]
        if self.cell_url:
            parts.append(f"([open in JupyterLab]({_markdown_url(self.cell_url)}))")
        return " ".join(parts)

    def as_dict(self) -> dict:
        return {
            "notebook": self.target.notebook,
            "cell_index": self.target.cell_index,
            "cell_id": self.target.cell_id,
            "kind": self.target.kind,
            "heading": self.target.heading,
            "anchor": self.target.anchor,
            "section_url": self.section_url,
            "cell_url": self.cell_url,
            "repository": self.repository,
            "site_url": self.site_url,
            "site_section_url": self.site_section_url,
            "site_cell_url": self.site_cell_url,
        }


class LinkError(ValueError):
    """No target, or more than one, matches the text; ``candidates`` holds the matches."""

    def __init__(self, message: str, candidates: Iterable[Target] = ()):
        super().__init__(message)
        self.candidates = list(candidates)


# --- markdown headings -------------------------------------------------------------------


def heading_text(markdown: str) -> str:
    """The text a browser shows for a heading's inline markdown (what JupyterLab's id is built from)."""
    text = markdown
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)  # images keep their alt text
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their label
    text = re.sub(r"`+([^`]*?)`+", r"\1", text)  # code spans keep their content
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags vanish
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!])", r"\1", text)  # backslash escapes
    return html.unescape(text).strip()


def heading_anchor(text: str) -> str:
    """JupyterLab 4's id for a heading with this rendered text: every space becomes ``-``."""
    return text.replace(" ", "-")


def iter_headings(source: str) -> Iterator[tuple[int, str]]:
    """Yield ``(level, text)`` for the ATX headings of a markdown cell, skipping fenced code."""
    fence = None
    for line in source.splitlines():
        opener = _FENCE.match(line)
        if opener:
            marker = opener.group(1)
            if fence is None:
                fence = marker[0]
            elif marker[0] == fence:
                fence = None
            continue
        if fence is not None:
            continue
        match = _ATX_HEADING.match(line)
        if match:
            yield len(match.group(1)), heading_text(match.group(2))


# --- reading the course ---------------------------------------------------------------------


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _summary(source: str) -> str:
    for line in source.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 72 else line[:69] + "..."
    return ""


def notebook_paths(root: Path | str | None = None, directory: str = RELEASE_DIR) -> list[Path]:
    """The course notebooks under ``root/directory``, sorted, without checkpoint copies."""
    base = Path(root) if root is not None else course_root()
    folder = base / directory
    if not folder.is_dir():
        raise FileNotFoundError(
            f"directory={str(folder)!r} does not exist; expected the course's notebooks there."
        )
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def notebook_targets(path: Path, root: Path) -> list[Target]:
    """Every heading and every cell of one notebook, in order."""
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    relative = path.relative_to(root).as_posix()
    targets = []
    for index, cell in enumerate(notebook.get("cells", [])):
        source = _source(cell)
        cell_type = cell.get("cell_type", "code")
        cell_id = cell.get("id")
        if cell_type == "markdown":
            for level, text in iter_headings(source):
                targets.append(Target(relative, index, cell_id, cell_type, heading=text, level=level))
        targets.append(Target(relative, index, cell_id, cell_type, summary=_summary(source)))
    return targets


def course_targets(root: Path | str | None = None, directory: str = RELEASE_DIR) -> list[Target]:
    """Targets of all notebooks in the course's release (what students open)."""
    base = Path(root) if root is not None else course_root()
    return [t for path in notebook_paths(base, directory) for t in notebook_targets(path, base)]


def cell_sources(root: Path | str | None = None, directory: str = RELEASE_DIR) -> dict[tuple[str, int], str]:
    """``(notebook, cell index) -> source`` for text search."""
    base = Path(root) if root is not None else course_root()
    sources = {}
    for path in notebook_paths(base, directory):
        with open(path, encoding="utf-8") as handle:
            cells = json.load(handle).get("cells", [])
        for index, cell in enumerate(cells):
            sources[(path.relative_to(base).as_posix(), index)] = _source(cell)
    return sources


# --- finding a target -----------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _strip_number(title: str) -> str:
    return _SECTION_NUMBER.sub("", title, count=1)


def find_targets(
    text: str,
    root: Path | str | None = None,
    *,
    notebook: str | None = None,
    directory: str = RELEASE_DIR,
) -> list[Target]:
    """Targets matching ``text``, most specific rule first; an empty list when nothing matches.

    Rules, first one with a match wins: a cell id (``abc``, ``#cell-id=abc``); a heading whose
    title, with or without its section number, equals the text (or whose anchor does); a heading
    containing the text; a cell whose source contains the text. ``notebook`` keeps only notebooks
    whose path contains that string (e.g. ``02``).
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"text must be a non-empty string naming a section or cell; got {text!r}.")
    base = Path(root) if root is not None else course_root()
    targets = course_targets(base, directory)
    if notebook is not None:
        targets = [t for t in targets if notebook in t.notebook]
    query = text.strip()
    fragment = query.split("#", 1)[1] if "#" in query else query
    before_fragment = query.split("#", 1)[0] if "#" in query else ""
    if before_fragment.endswith(".ipynb"):  # a pasted link: its notebook narrows the search
        name = unquote(before_fragment).rsplit("/", 1)[-1]
        targets = [t for t in targets if t.notebook.endswith("/" + name)]
    if fragment.startswith("cell-id="):
        fragment = fragment[len("cell-id=") :]

    by_id = [t for t in targets if t.cell_id == fragment]
    if by_id:
        # one target per notebook (ids are unique within a notebook, not across the course); a
        # heading cell is best linked as its first section, which also carries the cell link
        # (targets list a cell's headings before the cell itself)
        first_per_notebook: dict[str, Target] = {}
        for t in by_id:
            first_per_notebook.setdefault(t.notebook, t)
        return list(first_per_notebook.values())
    headings = [t for t in targets if t.heading is not None]
    wanted = _normalise(query)
    as_words = _normalise(fragment.replace("-", " "))
    exact = [
        t
        for t in headings
        if {wanted, as_words} & {_normalise(t.heading), _normalise(_strip_number(t.heading))}
        or t.anchor == fragment
    ]
    if exact:
        return exact
    partial = [t for t in headings if wanted in _normalise(t.heading)]
    if partial:
        return partial
    sources = cell_sources(base, directory)
    return [
        t
        for t in targets
        if t.heading is None and wanted in _normalise(sources.get((t.notebook, t.cell_index), ""))
    ]


def find_target(text: str, root: Path | str | None = None, **options) -> Target:
    """The one target ``text`` refers to; LinkError naming the text when none or several match."""
    matches = find_targets(text, root, **options)
    if not matches:
        raise LinkError(
            f"text={text!r} matches no heading, cell id or cell text in the course notebooks; "
            "try a few words of a section title or a cell id."
        )
    if len(matches) > 1:
        raise LinkError(
            f"text={text!r} matches {len(matches)} places; narrow it (more words, --notebook, or a cell id).",
            matches,
        )
    return matches[0]


# --- building links -------------------------------------------------------------------------


def _quote_path(path: str) -> str:
    return "/".join(quote(part) for part in path.split("/"))


def _fragment(value: str) -> str:
    return quote(value, safe=_FRAGMENT_SAFE)


def repository_base(repo_url: str | None, ref: str = DEFAULT_REF) -> str:
    """Prefix for repository paths: nothing, a relative path, or a forge URL pointing at ``ref``."""
    if not repo_url:
        return ""
    base = repo_url.rstrip("/")
    is_forge_root = re.fullmatch(r"https?://[^/]+/[^/]+/[^/]+", base) is not None
    if is_forge_root and re.match(r"https?://(www\.)?(github\.com|gitlab\.com)/", base):
        base += f"/blob/{ref}"
    return base + "/"


def build_links(
    target: Target,
    *,
    base_url: str = DEFAULT_BASE_URL,
    lab_root: str = RELEASE_DIR,
    repo_url: str | None = None,
    ref: str = DEFAULT_REF,
    site_url: str | None = None,
) -> Links:
    """The JupyterLab URLs (server started in ``lab_root``), the repository path for a target, and,
    with ``site_url`` (the published course site), the site page's section and cell links."""
    lab_path = target.notebook
    prefix = lab_root.strip("/") + "/" if lab_root.strip("/") else ""
    if prefix and lab_path.startswith(prefix):
        lab_path = lab_path[len(prefix) :]
    notebook_url = f"{base_url.rstrip('/')}/lab/tree/{_quote_path(lab_path)}"
    section_url = f"{notebook_url}#{_fragment(target.anchor)}" if target.anchor else None
    cell_url = f"{notebook_url}#cell-id={_fragment(target.cell_id)}" if target.cell_id else None
    if target.anchor:
        repo_anchor = _fragment(target.anchor)
    elif target.cell_id:
        repo_anchor = f"cell-id={_fragment(target.cell_id)}"
    else:
        repo_anchor = ""
    repository = repository_base(repo_url, ref) + _quote_path(target.notebook)
    if repo_anchor:
        repository += "#" + repo_anchor
    site_section_url = site_cell_url = None
    if site_url:
        page_url = f"{site_url.rstrip('/')}/{_quote_path(site_page(target.notebook))}"
        site_section_url = f"{page_url}#{_fragment(target.anchor)}" if target.anchor else None
        site_cell_url = f"{page_url}#cell-id={_fragment(target.cell_id)}" if target.cell_id else None
    return Links(target, section_url, cell_url, repository, site_section_url, site_cell_url)


def resolve_link(
    url: str, root: Path | str | None = None, *, lab_root: str = RELEASE_DIR, site_url: str | None = None
) -> Target:
    """The target a course link points to; LinkError when its notebook, heading or cell id is gone.

    Understands JupyterLab URLs (``.../lab/tree/<path>#...``, path relative to ``lab_root``),
    course site pages (``<site_url>/<assignment>/<name>.html#...``, with ``site_url`` the configured
    one unless given) and repository paths (``[../]notebooks/<path>#...``, relative to the course
    root or with a forge prefix).
    """
    base = Path(root) if root is not None else course_root()
    address, _, fragment = url.partition("#")
    address = unquote(address)
    site = unquote(site_url if site_url is not None else configured_site_url(base) or "").rstrip("/")
    if "/lab/tree/" in address:
        relative = lab_root.strip("/") + "/" + address.split("/lab/tree/", 1)[1]
    elif site and address.startswith(site + "/") and address.endswith(".html"):
        relative = f"{RELEASE_DIR}/{address[len(site) + 1 : -len('.html')]}.ipynb"
    else:
        marker = f"{RELEASE_DIR}/"
        if marker not in address:
            raise LinkError(
                f"url={url!r} points outside the course notebooks (no /lab/tree/, course site page or {marker})."
            )
        relative = marker + address.split(marker, 1)[1]
    path = base / relative
    if not path.is_file():
        raise LinkError(f"url={url!r} names {relative!r}, which does not exist.")
    targets = notebook_targets(path, base)
    fragment = unquote(fragment)
    if not fragment:
        raise LinkError(f"url={url!r} has no #anchor; course links point at a section or a cell.")
    if fragment.startswith("cell-id="):
        wanted = fragment[len("cell-id=") :]
        found = [t for t in targets if t.heading is None and t.cell_id == wanted]
    else:
        wanted = fragment[len("heading=") :] if fragment.startswith("heading=") else fragment
        found = [t for t in targets if t.anchor == wanted]
    if not found:
        raise LinkError(f"url={url!r}: {relative!r} has no heading or cell with anchor {fragment!r}.")
    return found[0]
