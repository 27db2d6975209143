"""``course grade``, ``course export`` and ``course feedback``: nbgrader's grading, done in parallel.

``grade`` autogrades every ``submitted/<student>/<assignment>/`` in sandboxed kernels, on a local
process pool (``--workers``) or a Dask cluster (``--scheduler``), into the course's one gradebook;
``export`` and ``feedback`` are nbgrader's CSV export and HTML feedback. See
:mod:`course_tools.grading`.
"""

from __future__ import annotations

import argparse
import json
import sys

from course_tools.cli.arguments import add_course_arguments, add_course_dir
from course_tools.grading.limits import SANDBOX_MODES, Limits

_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_memory(text: str) -> int | None:
    """``"4G"`` -> bytes; ``"none"`` -> no limit."""
    value = text.strip().lower()
    if value in {"none", "off", "0"}:
        return None
    unit = _UNITS.get(value[-1:], 1)
    number = value[:-1] if value[-1:] in _UNITS else value
    try:
        amount = float(number)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"memory limit must look like 4G, 512M or none; got {text!r}"
        ) from None
    if amount <= 0:
        raise argparse.ArgumentTypeError(f"memory limit must be positive; got {text!r}")
    return int(amount * unit)


def format_memory(amount: int | None) -> str:
    """Bytes -> the largest whole unit ``parse_memory`` reads back (``4 * 2**30`` -> ``"4G"``)."""
    if amount is None:
        return "none"
    for letter, unit in sorted(_UNITS.items(), key=lambda item: -item[1]):
        if amount % unit == 0:
            return f"{amount // unit}{letter.upper()}"
    return str(amount)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1; got {value}")
    return value


def register(subparsers) -> None:
    grade = subparsers.add_parser(
        "grade",
        help="autograde every submission in parallel, in sandboxed kernels",
        description=(
            "Autograde submitted/<student>/<assignment>/ for every student with nbgrader, each "
            "submission in a private copy and a sandboxed kernel, and merge the results into the "
            "course's gradebook. Submissions graded by an earlier run and unchanged since are skipped."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_course_arguments(grade)
    grade.add_argument("--workers", type=_positive_int, default=1, help="local grading processes")
    grade.add_argument("--scheduler", default=None, help="Dask scheduler address (e.g. tcp://host:8786)")
    grade.add_argument(
        "--student", action="append", default=None, help="grade only this student (repeatable)"
    )
    grade.add_argument("--force", action="store_true", help="regrade submissions graded before")
    grade.add_argument(
        "--cell-timeout", type=_positive_int, default=None, help="seconds per cell (default: Execute.timeout)"
    )
    grade.add_argument(
        "--notebook-timeout", type=_positive_int, default=Limits.notebook_timeout, help="seconds per notebook"
    )
    grade.add_argument(
        "--memory-limit",
        type=parse_memory,
        default=format_memory(Limits.memory_bytes),  # a string, so argparse reads it with parse_memory
        help="address space per kernel (or none)",
    )
    grade.add_argument(
        "--sandbox", choices=SANDBOX_MODES, default=Limits.sandbox, help="how strict the sandbox is"
    )
    grade.add_argument("--json", default=None, help="also write the summary as JSON to this file")
    grade.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    grade.set_defaults(func=run_grade)

    export = subparsers.add_parser(
        "export",
        help="write the grades as CSV (nbgrader's export)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_course_dir(export)
    export.add_argument("--to", default="grades.csv", help="CSV file to write (relative to the course root)")
    export.add_argument(
        "--assignment", action="append", default=None, help="only this assignment (repeatable)"
    )
    export.set_defaults(func=run_export)

    feedback = subparsers.add_parser(
        "feedback",
        help="write an HTML feedback page per student (nbgrader's generate_feedback)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_course_arguments(feedback)
    feedback.add_argument("--student", default=None, help="only this student")
    feedback.set_defaults(func=run_feedback)


# The grading modules are imported when a command runs: they load nbgrader and Jupyter, and
# `course --help` must not.


def run_grade(args) -> int:
    from course_tools.grading.course import Course
    from course_tools.grading.runner import grade_assignment, summary_records, summary_table
    from course_tools.grading.sandbox import SandboxUnavailable

    course = Course.load(args.course_dir)
    assignment = args.assignment or course.default_assignment()
    limits = Limits(
        cell_timeout=args.cell_timeout or course.cell_timeout,
        notebook_timeout=args.notebook_timeout,
        memory_bytes=args.memory_limit,
        sandbox=args.sandbox,
    )
    try:
        summary = grade_assignment(
            course,
            assignment,
            workers=args.workers,
            scheduler=args.scheduler,
            limits=limits,
            force=args.force,
            students=args.student,
            progress=not args.no_progress,
        )
    except SandboxUnavailable as error:
        print(f"course grade: {error}", file=sys.stderr)
        return 2
    print(summary_table(summary))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {"assignment": assignment, "sandbox": summary.sandbox, "rows": summary_records(summary)},
                handle,
                indent=1,
            )
    return 0 if summary.ok else 1


def run_export(args) -> int:
    from course_tools.grading.course import Course
    from course_tools.grading.reports import export_csv, read_csv

    course = Course.load(args.course_dir)
    path = export_csv(course, course.root / args.to, assignments=args.assignment or ())
    print(f"wrote {len(read_csv(path))} row(s) to {path}")
    return 0


def run_feedback(args) -> int:
    from course_tools.grading.course import Course
    from course_tools.grading.reports import generate_feedback

    course = Course.load(args.course_dir)
    assignment = args.assignment or course.default_assignment()
    pages = generate_feedback(course, assignment, student=args.student)
    print(f"wrote {len(pages)} feedback page(s) under {course.feedback_dir}")
    return 0
