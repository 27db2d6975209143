"""course_tools.grading.course: where the course is, its configuration, and the hash of a folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from course_tools import notebook_format
from course_tools.grading.course import CONFIG_FILE, Course, course_root, hash_tree

from support.courses import REPO


def test_hash_tree_changes_with_content_and_names(tmp_path):
    (tmp_path / "a.txt").write_text("1")
    first = hash_tree(tmp_path)
    (tmp_path / "a.txt").write_text("2")
    second = hash_tree(tmp_path)
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    assert len({first, second, hash_tree(tmp_path)}) == 3


def test_the_course_root_is_the_given_folder_or_else_this_checkout(tmp_path, monkeypatch):
    """One answer to "where is the course?", whatever the current directory."""
    monkeypatch.chdir(tmp_path)
    assert course_root() == Path(__file__).resolve().parents[3]
    assert (course_root() / CONFIG_FILE).is_file() and (course_root() / "solutions").is_dir()
    assert course_root(".") == tmp_path.resolve() and course_root(tmp_path / "a" / "..") == tmp_path.resolve()
    assert Course.load().root == course_root() == REPO
    assert course_root() == notebook_format.REPO_ROOT
    assert notebook_format.default_config_file() == course_root() / CONFIG_FILE


def test_a_course_that_is_not_there_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        Course.load(tmp_path / "nowhere")
