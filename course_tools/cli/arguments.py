"""Arguments several ``course`` subcommands share, written once so that they read the same."""

from __future__ import annotations


def add_course_dir(parser) -> None:
    """``--course-dir``: where the course's ``nbgrader_config.py`` is (default: this checkout)."""
    parser.add_argument(
        "--course-dir",
        default=None,
        help="the course root, where nbgrader_config.py is (default: this checkout)",
    )


def add_course_arguments(parser) -> None:
    """``--course-dir`` and ``--assignment``."""
    add_course_dir(parser)
    parser.add_argument("--assignment", default=None, help="assignment id (default: the configured one)")
