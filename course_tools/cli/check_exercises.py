"""``course check-exercises``: run the corpus of wrong answers, shortcuts and correct alternatives.

See :mod:`course_tools.check_exercises`. Exit code 0 when every wrong answer and shortcut fails,
every correct alternative passes, enough failure messages name their concept and every prose claim
agrees with what the notebook prints; 1 otherwise.
"""

from __future__ import annotations

import argparse

from course_tools.cli.arguments import add_course_arguments


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check-exercises",
        help="run wrong answers and shortcuts against every exercise's visible and hidden tests",
        description=(
            "Run each source notebook once; at every exercise try the answers listed in "
            "solutions/<notebook>.answers.toml (wrong answers, helper shortcuts and correct "
            "alternatives) against the visible and hidden tests, and check the prose's measured numbers."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_course_arguments(parser)
    parser.add_argument(
        "--notebook", action="append", default=None, help="only notebooks whose name starts so (repeatable)"
    )
    parser.add_argument("--exercise", action="append", default=None, help="only this exercise (repeatable)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks checked at once, one kernel each")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds one cell may run")
    parser.add_argument(
        "--min-named", type=float, default=0.9, help="share of failure messages that must name their concept"
    )
    parser.add_argument("--verbose", action="store_true", help="list every answer with its message")
    parser.set_defaults(func=run)


def run(args) -> int:
    from course_tools.check_exercises import check_course, format_report, verdict
    from course_tools.grading.course import Course

    if args.jobs < 1:
        raise ValueError(f"--jobs must be at least 1; got {args.jobs}")
    if not 0 <= args.min_named <= 1:
        raise ValueError(f"--min-named must be a share between 0 and 1; got {args.min_named}")
    course = Course.load(args.course_dir)
    assignment = args.assignment or course.default_assignment()
    reports = check_course(
        course.source_dir,
        assignment,
        notebooks=args.notebook,
        exercises=args.exercise,
        jobs=args.jobs,
        timeout=args.timeout,
    )
    print(format_report(reports, verbose=args.verbose, min_named=args.min_named), flush=True)
    return 0 if verdict(reports, min_named=args.min_named).ok else 1
