"""``course release``: regenerate the student notebooks from ``solutions/`` and zip the student bundle.

The release is made by ``course_tools.notebook_format.generate_release`` (nbgrader's
``generate_assignment`` in a scratch course, written back canonically); the zip holds the release
and what it needs to run, never the solutions or the gradebook (see
:mod:`course_tools.grading.bundle`).
"""

from __future__ import annotations

import argparse

from course_tools.cli.arguments import add_course_arguments


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "release",
        help="regenerate notebooks/ from solutions/ and build the student zip",
        description=(
            "Regenerate the student release from the nbgrader source folder, then write a zip with "
            "the released notebooks, the course_utils library and the files to install it."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_course_arguments(parser)
    parser.add_argument("--no-regenerate", action="store_true", help="zip the release as it is")
    parser.add_argument(
        "--output", default=None, help="zip to write (default: dist/<assignment>-student.zip)"
    )
    parser.set_defaults(func=run)


# The tooling is imported when the command runs: `course --help` must stay fast.


def regenerate(course, assignment: str) -> list:
    """Rewrite ``<release>/<assignment>/`` from ``<source>/<assignment>/`` with the course's config."""
    from course_tools.grading.course import CONFIG_FILE
    from course_tools.notebook_format import generate_release

    config_file = course.root / CONFIG_FILE
    return generate_release(
        course.source_dir,
        course.release_dir,
        assignment=assignment,
        config_file=config_file if config_file.is_file() else None,
    )


def run(args) -> int:
    from course_tools.grading.bundle import build_student_bundle
    from course_tools.grading.course import Course

    course = Course.load(args.course_dir)
    assignment = args.assignment or course.default_assignment()
    if not args.no_regenerate:
        written = regenerate(course, assignment)
        print(f"released {len(written)} file(s) into {course.release_dir / assignment}")
    bundle = build_student_bundle(course, assignment, args.output)
    notebooks = sum(name.endswith(".ipynb") for name in bundle.members)
    print(f"student bundle: {bundle.path} ({len(bundle.members)} files, {notebooks} notebooks)")
    return 0
