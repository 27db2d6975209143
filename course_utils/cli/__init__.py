"""The ``course`` command: one subcommand per module, each registering itself.

Subcommand modules define ``register(subparsers)`` and set ``func`` on their parser; the function
gets the parsed arguments and returns an exit code. Modules are imported lazily by name so that
``course --help`` does not load TensorFlow.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

# subcommand module names under course_utils.cli
COMMAND_MODULES = ["lr_find", "release", "grading", "link"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="course",
        description="Tools for the learning-rate course: find a rate, release, grade, link.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        import_module(f"course_utils.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"course {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
