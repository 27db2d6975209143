"""course_tools.links: heading anchors, finding a cell or section, building and resolving links,
on a small release and on the course (its notebooks and the FAQ's links).

``course link`` itself is tests/course_tools/cli/test_link.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from course_tools import links
from course_tools.notebook_format import ASSIGNMENT

from support.courses import REPO

FAQ = REPO / "docs" / "faq.md"


# --------------------------------------------------------------------------- heading anchors


@pytest.mark.parametrize(
    ("markdown", "anchor"),
    [
        ("2. Tune the Learning Rate", "2.-Tune-the-Learning-Rate"),
        ("Why does the rate go *up*?", "Why-does-the-rate-go-up?"),
        ("The `LearningRateScheduler` sweep", "The-LearningRateScheduler-sweep"),
        ("**Bold** and [a link](https://example.org)", "Bold-and-a-link"),
        ("Loss &amp; rate", "Loss-&-rate"),
    ],
)
def test_heading_anchor_follows_jupyterlab(markdown, anchor):
    """The anchor is the rendered text with spaces as dashes (checked in a real browser in test_browser.py)."""
    assert links.heading_anchor(links.heading_text(markdown)) == anchor


def test_iter_headings_skips_fenced_code():
    source = "## Real\n\n```python\n# a comment, not a heading\n```\n### Also real ###"
    assert list(links.iter_headings(source)) == [(2, "Real"), (3, "Also real")]


# --------------------------------------------------------------------------- finding targets


def test_section_title_without_its_number_finds_the_section(small_course):
    target = links.find_target("Tune the Learning Rate", small_course)
    assert target.notebook == f"notebooks/{ASSIGNMENT}/02_sweep.ipynb"
    assert (target.kind, target.cell_id, target.anchor) == (
        "section",
        "tune-the-learning-rate",
        "2.-Tune-the-Learning-Rate",
    )


@pytest.mark.parametrize(
    "text", ["tune-the-learning-rate", "#cell-id=tune-the-learning-rate", "Tune-the-Learning-Rate"]
)
def test_cell_id_and_anchor_forms_find_the_same_section(small_course, text):
    assert links.find_target(text, small_course).cell_id == "tune-the-learning-rate"


def test_an_id_used_in_two_notebooks_is_ambiguous_unless_narrowed(small_course):
    with pytest.raises(links.LinkError, match="matches 2 places"):
        links.find_target("summary", small_course)
    assert links.find_target("summary", small_course, notebook="01").notebook.endswith("01_fixed_rate.ipynb")
    pasted = "http://localhost:8888/lab/tree/learning-rate/02_sweep.ipynb#cell-id=summary"
    assert links.find_target(pasted, small_course).notebook.endswith("02_sweep.ipynb")


def test_text_in_a_code_cell_finds_that_cell(small_course):
    target = links.find_target("LearningRateScheduler(", small_course)
    assert (target.kind, target.cell_id, target.cell_type) == ("cell", "sweep", "code")


def test_ambiguous_text_lists_the_candidates(small_course):
    with pytest.raises(links.LinkError, match="'Summary' matches 2 places") as caught:
        links.find_target("Summary", small_course)
    assert sorted(c.notebook for c in caught.value.candidates) == [
        f"notebooks/{ASSIGNMENT}/01_fixed_rate.ipynb",
        f"notebooks/{ASSIGNMENT}/02_sweep.ipynb",
    ]
    assert links.find_target("Summary", small_course, notebook="02").notebook.endswith("02_sweep.ipynb")


def test_no_match_names_the_text(small_course):
    with pytest.raises(links.LinkError, match="'gradient clipping' matches no heading"):
        links.find_target("gradient clipping", small_course)


@pytest.mark.parametrize("bad", ["", "   ", None, 3])
def test_empty_or_non_string_text_is_rejected(small_course, bad):
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        links.find_targets(bad, small_course)


def test_missing_release_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="directory="):
        links.find_targets("anything", tmp_path)


# --------------------------------------------------------------------------- building links


def test_links_for_a_section(small_course):
    target = links.find_target("Tune the Learning Rate", small_course)
    built = links.build_links(
        target, base_url="http://localhost:9999/", repo_url="https://github.com/org/course"
    )
    notebook_url = "http://localhost:9999/lab/tree/learning-rate/02_sweep.ipynb"
    assert built.section_url == notebook_url + "#2.-Tune-the-Learning-Rate"
    assert built.cell_url == notebook_url + "#cell-id=tune-the-learning-rate"
    assert built.repository == (
        "https://github.com/org/course/blob/main/notebooks/learning-rate/02_sweep.ipynb#2.-Tune-the-Learning-Rate"
    )


def test_links_for_a_code_cell_point_the_repository_at_the_cell(small_course):
    built = links.build_links(links.find_target("sweep", small_course, notebook="02"), repo_url="..")
    assert built.section_url is None
    assert built.repository == "../notebooks/learning-rate/02_sweep.ipynb#cell-id=sweep"


def test_lab_root_is_where_jupyterlab_was_started(small_course):
    target = links.find_target("Tune the Learning Rate", small_course)
    built = links.build_links(target, lab_root="")
    assert built.cell_url.startswith("http://localhost:8888/lab/tree/notebooks/learning-rate/02_sweep.ipynb#")


def test_every_link_resolves_back_to_its_cell(small_course):
    for target in links.course_targets(small_course):
        built = links.build_links(target, repo_url="..")
        for url in filter(None, [built.section_url, built.cell_url, built.repository]):
            found = links.resolve_link(url, small_course)
            assert (found.notebook, found.cell_index) == (target.notebook, target.cell_index), url


def test_resolve_link_rejects_a_vanished_anchor(small_course):
    with pytest.raises(links.LinkError, match="no heading or cell with anchor 'cell-id=gone'"):
        links.resolve_link(
            "http://localhost:8888/lab/tree/learning-rate/02_sweep.ipynb#cell-id=gone", small_course
        )
    with pytest.raises(links.LinkError, match="does not exist"):
        links.resolve_link("../notebooks/learning-rate/09_nothing.ipynb#Summary", small_course)


def test_site_links_use_the_page_of_the_release_notebook(small_course):
    target = links.find_target("Tune the Learning Rate", small_course)
    built = links.build_links(target, site_url="https://org.github.io/course/")
    page = "https://org.github.io/course/learning-rate/02_sweep.html"
    assert built.site_section_url == page + "#2.-Tune-the-Learning-Rate"
    assert built.site_cell_url == page + "#cell-id=tune-the-learning-rate"
    assert built.as_markdown() == (
        f"[02_sweep.ipynb: 2. Tune the Learning Rate]({page}#2.-Tune-the-Learning-Rate) "
        "([open in JupyterLab](http://localhost:8888/lab/tree/learning-rate/02_sweep.ipynb#cell-id=tune-the-learning-rate))"
    )
    code_cell = links.build_links(
        links.find_target("sweep", small_course, notebook="02"), site_url="https://org.github.io/course"
    )
    assert (code_cell.site_section_url, code_cell.site_url) == (None, page + "#cell-id=sweep")
    for url in (built.site_section_url, built.site_cell_url, code_cell.site_url):
        found = links.resolve_link(url, small_course, site_url="https://org.github.io/course")
        assert found.notebook.endswith("02_sweep.ipynb"), url


def test_site_url_comes_from_tool_course_in_pyproject(small_course):
    assert links.configured_site_url(small_course) is None
    (small_course / "pyproject.toml").write_text('[tool.course]\nsite_url = "https://example.org/lr/"\n')
    assert links.configured_site_url(small_course) == "https://example.org/lr"
    (small_course / "pyproject.toml").write_text("[tool.course]\nsite_url = 3\n")
    with pytest.raises(ValueError, match="site_url must be a string"):
        links.configured_site_url(small_course)


# --------------------------------------------------------------------------- the real course


def _release_notebooks() -> list[Path]:
    return sorted((REPO / "notebooks" / ASSIGNMENT).glob("*.ipynb"))


def test_tune_the_learning_rate_is_in_notebook_2():
    """The issue's example: `course link "Tune the Learning Rate"` finds notebook 2's section."""
    target = links.find_target("Tune the Learning Rate")
    assert Path(target.notebook).name.startswith("02_"), target
    assert target.kind == "section"
    assert target.cell_id, "the section's cell needs an id for the #cell-id= link"


def test_every_notebook_target_has_a_cell_id():
    notebooks = _release_notebooks()
    assert notebooks, "no release notebooks in notebooks/"
    missing = [t.describe() for t in links.course_targets() if not t.cell_id]
    assert not missing, f"cells without ids cannot be linked: {missing[:5]}"


# --------------------------------------------------------------------------- the FAQ

FAQ_QUESTIONS = [
    "rate go up",  # why the rate goes up during the sweep when decay makes it go down
    "re-initialise",  # why the sweep does not re-initialise the model for each rate
    "read the valley",  # how to read the valley
    "rebuilt",  # why the model is rebuilt before retraining
    "connect to decay",  # how the valley connects to decay
]


def _faq_sections() -> dict[str, str]:
    text = FAQ.read_text(encoding="utf-8")
    parts = re.split(r"^## +(.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def _markdown_links(text: str) -> list[str]:
    """Link destinations, plain ``](url)`` or in angle brackets ``](<url>)``."""
    return [bracketed or plain for bracketed, plain in re.findall(r"\]\((?:<([^>]+)>|([^)\s]+))\)", text)]


def test_faq_links_resolve_to_existing_headings_or_cells():
    """Every link into a notebook (course site or JupyterLab) names an existing heading anchor or cell id.

    tests/course_tools/test_site.py follows the same links into the built site.
    """
    urls = [
        url for url in _markdown_links(FAQ.read_text(encoding="utf-8")) if ".ipynb" in url or ".html" in url
    ]
    assert len(urls) >= 20, f"the FAQ should link the notebooks; found {len(urls)} links"
    broken = []
    for url in urls:
        try:
            links.resolve_link(url)
        except links.LinkError as error:
            broken.append(str(error))
    assert not broken, "broken FAQ links:\n" + "\n".join(broken)


def test_faq_answers_each_question_with_links():
    sections = _faq_sections()
    for words in FAQ_QUESTIONS:
        matching = [title for title in sections if words in title.casefold()]
        assert matching, f"no FAQ question about {words!r}; questions: {list(sections)}"
        body = sections[matching[0]]
        assert any(".ipynb#" in url for url in _markdown_links(body)), f"{matching[0]!r} links no cell"
        assert any("#cell-id=" in url for url in _markdown_links(body)), (
            f"{matching[0]!r} has no #cell-id= link"
        )
        site_url = links.configured_site_url()
        assert any(url.startswith(site_url + "/") for url in _markdown_links(body)), (
            f"{matching[0]!r} has no link to the course site ({site_url})"
        )
