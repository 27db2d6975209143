"""``course link TEXT``: print the links a forum mentor pastes for a section or a cell.

Besides the JupyterLab links it prints the course site's links (``course site`` builds the site;
``--site-url`` defaults to ``[tool.course] site_url`` in the course's ``pyproject.toml``).

Exit codes: 0 with the links; 2 when nothing matches or several places match (the candidates
are listed, each with its cell id, so the mentor can pick one and ask again).
"""

from __future__ import annotations

import argparse
import json
import sys

from course_tools import links

# Enough candidates to choose from; more means the text is too vague to list them all.
MAX_CANDIDATES = 12


def register(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "link",
        help="print course site, JupyterLab and repository links to a section or cell of the course",
        description=(
            "Find a section (markdown heading) or a cell (by id, or by text in its source) in the "
            "course notebooks and print the links to paste in a forum answer."
        ),
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="section title, cell id, or a few words from the cell")
    parser.add_argument(
        "--base-url",
        default=links.DEFAULT_BASE_URL,
        help=f"address of the students' JupyterLab server (default {links.DEFAULT_BASE_URL})",
    )
    parser.add_argument(
        "--lab-root",
        default=links.RELEASE_DIR,
        help=f"directory JupyterLab was started in, relative to the course (default {links.RELEASE_DIR!r}, as `make lab`)",
    )
    parser.add_argument(
        "--site-url",
        default=None,
        help="address of the published course site (default: [tool.course] site_url in the course's "
        "pyproject.toml; '' leaves the site links out)",
    )
    parser.add_argument(
        "--repo-url",
        default=None,
        help="repository address for the viewer link, e.g. https://github.com/ORG/REPO or '..' for a relative link",
    )
    parser.add_argument(
        "--ref", default=links.DEFAULT_REF, help="branch or tag for --repo-url (default main)"
    )
    parser.add_argument(
        "--notebook", default=None, help="only look in notebooks whose path contains this, e.g. 02"
    )
    parser.add_argument(
        "--root", default=None, help="course directory (default: the repository of this package)"
    )
    parser.add_argument(
        "--title", default=None, help="link text for --format markdown (default: the heading)"
    )
    parser.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text (default), a markdown line to paste, or json",
    )


def run(args: argparse.Namespace) -> int:
    try:
        target = links.find_target(args.text, args.root, notebook=args.notebook)
    except links.LinkError as error:
        print(f"course link: {error}", file=sys.stderr)
        for candidate in error.candidates[:MAX_CANDIDATES]:
            print(f"  - {candidate.describe()}", file=sys.stderr)
        if len(error.candidates) > MAX_CANDIDATES:
            print(f"  ... and {len(error.candidates) - MAX_CANDIDATES} more", file=sys.stderr)
        return 2
    site_url = args.site_url if args.site_url is not None else links.configured_site_url(args.root)
    found = links.build_links(
        target,
        base_url=args.base_url,
        lab_root=args.lab_root,
        repo_url=args.repo_url,
        ref=args.ref,
        site_url=site_url or None,
    )
    if args.format == "json":
        print(json.dumps(found.as_dict(), indent=2))
    elif args.format == "markdown":
        print(found.as_markdown(args.title))
    else:
        print(found.as_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``course link`` on its own (``python -m course_tools.cli.link``)."""
    parser = argparse.ArgumentParser(prog="course link")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError) as error:
        print(f"course link: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
