"""``course grade``'s options: the defaults come from course_tools.grading.limits, memory sizes parse."""

from __future__ import annotations

import argparse

import pytest

from course_tools.cli import build_parser
from course_tools.cli import grading as grading_cli
from course_tools.grading.limits import Limits


@pytest.mark.parametrize(
    ("text", "expected"),
    [("4G", 4 * 2**30), ("512m", 512 * 2**20), ("1.5g", int(1.5 * 2**30)), ("none", None)],
)
def test_parse_memory(text, expected):
    assert grading_cli.parse_memory(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1G", "G"])
def test_parse_memory_rejects_nonsense(text):
    with pytest.raises(argparse.ArgumentTypeError, match="memory limit"):
        grading_cli.parse_memory(text)


def test_cli_has_the_grading_commands():
    parser = build_parser()
    args = parser.parse_args(
        ["grade", "--workers", "3", "--scheduler", "tcp://h:8786", "--student", "a", "--student", "b"]
    )
    assert (args.workers, args.scheduler, args.student, args.memory_limit) == (
        3,
        "tcp://h:8786",
        ["a", "b"],
        4 * 2**30,
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["grade", "--workers", "0"])


def test_the_defaults_are_the_graders_own():
    """No copies to keep in step: the options show course_tools.grading.limits' values."""
    args = build_parser().parse_args(["grade"])
    limits = Limits()
    assert (args.notebook_timeout, args.memory_limit, args.sandbox) == (
        limits.notebook_timeout,
        limits.memory_bytes,
        limits.sandbox,
    )
    assert args.course_dir is None  # the checkout: course_tools.grading.course.course_root()


@pytest.mark.parametrize("amount", [4 * 2**30, 512 * 2**20, 3 * 2**10, 1000, None])
def test_format_memory_is_read_back_by_parse_memory(amount):
    assert grading_cli.parse_memory(grading_cli.format_memory(amount)) == amount
