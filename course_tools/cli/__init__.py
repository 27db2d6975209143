"""The ``course`` command: ``lr-find`` from the library, and the instructors' and mentors' tools.

Each subcommand is a module with ``register(subparsers)`` (see :mod:`course_utils.cli`, which holds
the frame and ``lr-find``); modules are imported lazily by name so that ``course --help`` does not
load TensorFlow.
"""

from __future__ import annotations

import argparse

from course_utils import cli as library_cli

#: Subcommand modules, by name, in the order ``course --help`` lists them.
COMMAND_MODULES = (
    *library_cli.COMMAND_MODULES,
    "course_tools.cli.release",
    "course_tools.cli.grading",
    "course_tools.cli.link",
    "course_tools.cli.site",
    "course_tools.cli.check_exercises",
)


def build_parser() -> argparse.ArgumentParser:
    return library_cli.build_parser(
        COMMAND_MODULES,
        description="Tools for the learning-rate course: find a rate, release, grade, link, publish the site.",
    )


def main(argv: list[str] | None = None) -> int:
    return library_cli.run(build_parser(), argv)
