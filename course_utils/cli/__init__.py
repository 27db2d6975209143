"""The ``course`` command's frame, and the student install's ``course`` (``lr-find`` only).

A subcommand module defines ``register(subparsers)`` and sets ``func`` on its parser; the function
gets the parsed arguments and returns an exit code. Modules are imported lazily by name, so that
``course --help`` does not load TensorFlow. The instructors' ``course`` (release, grading, links)
is this frame with more modules, in the tooling package; the library never imports the tooling.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

#: The library's subcommands, by module name.
COMMAND_MODULES = ("course_utils.cli.lr_find",)


def build_parser(
    modules: Sequence[str] = COMMAND_MODULES,
    description: str = "Find a learning rate for the course's data.",
) -> argparse.ArgumentParser:
    """A ``course`` parser with one subcommand per module in ``modules``."""
    parser = argparse.ArgumentParser(prog="course", description=description)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in modules:
        import_module(name).register(subparsers)
    return parser


def run(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; a bad argument value exits with code 2."""
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"course {args.command}: error: {error}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    return run(build_parser(), argv)
