"""``course link``: the command prints a cell's or section's links, says which places match, and
reads the course site's address from pyproject.toml."""

from __future__ import annotations

import json
import re

from course_tools import links
from course_tools.cli import link as link_cli
from course_tools.cli import main as course_main


def test_command_prints_both_jupyterlab_links(small_course, capsys):
    code = link_cli.main(["Tune the Learning Rate", "--root", str(small_course), "--base-url", "http://h:1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "http://h:1/lab/tree/learning-rate/02_sweep.ipynb#2.-Tune-the-Learning-Rate" in out
    assert "http://h:1/lab/tree/learning-rate/02_sweep.ipynb#cell-id=tune-the-learning-rate" in out
    assert "notebooks/learning-rate/02_sweep.ipynb#2.-Tune-the-Learning-Rate" in out


def test_command_exit_code_2_when_nothing_matches(small_course, capsys):
    code = link_cli.main(["no such words", "--root", str(small_course)])
    err = capsys.readouterr().err
    assert code == 2
    assert "'no such words'" in err


def test_command_lists_candidates_when_several_match(small_course, capsys):
    code = link_cli.main(["Summary", "--root", str(small_course)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("  - section 'Summary'") == 2


def test_command_json_and_markdown_formats(small_course, capsys):
    assert link_cli.main(["sweep", "--notebook", "02", "--root", str(small_course), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["cell_id"], data["kind"]) == ("sweep", "cell")
    assert link_cli.main(["Tune the Learning Rate", "--root", str(small_course), "--format", "markdown"]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(
        r"\[02_sweep\.ipynb: 2\. Tune the Learning Rate\]\(\S+\) \(\[open in JupyterLab\]\(\S+\)\)", line
    )


def test_command_prints_the_site_links_of_tool_course_in_pyproject(small_course, capsys):
    (small_course / "pyproject.toml").write_text('[tool.course]\nsite_url = "https://example.org/lr/"\n')
    assert link_cli.main(["Tune the Learning Rate", "--root", str(small_course)]) == 0
    out = capsys.readouterr().out
    assert (
        "site, section:       https://example.org/lr/learning-rate/02_sweep.html#2.-Tune-the-Learning-Rate"
        in out
    )
    assert (
        "site, cell:          https://example.org/lr/learning-rate/02_sweep.html#cell-id=tune-the-learning-rate"
        in out
    )
    assert link_cli.main(["Tune the Learning Rate", "--root", str(small_course), "--site-url", ""]) == 0
    assert "site," not in capsys.readouterr().out


def test_course_command_has_link(small_course, capsys):
    assert course_main(["link", "Tune the Learning Rate", "--root", str(small_course)]) == 0
    assert "#cell-id=tune-the-learning-rate" in capsys.readouterr().out


def test_course_link_prints_the_site_links_of_the_issue_example(capsys):
    """`course link "Tune the Learning Rate"`: the site page's section and cell links, from pyproject.toml."""
    assert course_main(["link", "Tune the Learning Rate"]) == 0
    out = capsys.readouterr().out
    site_url = links.configured_site_url()
    assert site_url, "[tool.course] site_url is not set in pyproject.toml"
    assert f"{site_url}/learning-rate/02_sweep.html#Tune-the-Learning-Rate\n" in out
    assert f"{site_url}/learning-rate/02_sweep.html#cell-id=tune-the-learning-rate\n" in out
    assert course_main(["link", "Tune the Learning Rate", "--format", "markdown"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(
        f"[02_sweep.ipynb: Tune the Learning Rate]({site_url}/learning-rate/02_sweep.html#"
    )
