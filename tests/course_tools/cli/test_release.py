"""``course release``: the one way to make a release (regenerate notebooks/, write the student zip)."""

from __future__ import annotations

import zipfile

import pytest

from course_tools import notebook_format
from course_tools.cli import main


def test_course_release_regenerates_and_zips(toy_course, capsys):
    release = toy_course / "notebooks" / "toy"
    (release / "squares.ipynb").write_text("stale")
    assert main(["release", "--course-dir", str(toy_course), "--assignment", "toy"]) == 0
    assert "raise NotImplementedError" in (release / "squares.ipynb").read_text()
    zip_path = toy_course / "dist" / "toy-student.zip"
    with zipfile.ZipFile(zip_path) as archive:
        assert (
            archive.read("toy-course/notebooks/toy/squares.ipynb") == (release / "squares.ipynb").read_bytes()
        )
    assert "student bundle" in capsys.readouterr().out


def test_notebook_format_only_formats_the_release_is_course_release(capsys):
    with pytest.raises(SystemExit):
        notebook_format.main(["release"])
    assert "invalid choice: 'release'" in capsys.readouterr().err
