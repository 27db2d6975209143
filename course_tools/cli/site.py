"""``course site``: build the static course site (one executed page per release notebook) in ``site/``.

See :mod:`course_tools.site`. The site is ready to publish as it is (GitHub Pages or any static
host); its address goes in ``[tool.course] site_url`` in ``pyproject.toml``, which ``course link``,
``docs/faq.md`` and the JupyterLab command "Copy link to this cell" use.
"""

from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "site",
        help="build the static course site (executed release notebooks and an index) in site/",
        description=(
            "Run every release notebook (one at a time, exercises as students get them) and write one "
            "HTML page per notebook and an index, with the same #Heading and #cell-id= anchors as "
            "JupyterLab and nothing loaded from another host."
        ),
    )
    parser.add_argument("--root", default=None, help="course directory (default: this repository)")
    parser.add_argument("--output", default=None, help="where to write the site (default: <root>/site)")
    parser.add_argument(
        "--cell-timeout", type=float, default=None, help="seconds a cell may run (default 120, as nbgrader)"
    )
    parser.add_argument(
        "--notebook-timeout", type=float, default=None, help="seconds a notebook may run (default 600)"
    )
    parser.add_argument(
        "--no-execute", action="store_true", help="render without running the notebooks (no outputs)"
    )
    parser.add_argument(
        "--no-sync-extension",
        action="store_true",
        help="leave course_utils/labextension/static/course-links.json alone (by default it is rewritten "
        "from [tool.course] when it differs)",
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    from course_tools import links, site

    root = Path(args.root) if args.root else links.course_root()
    has_extension = (root / site.EXTENSION_CONFIG).parent.is_dir()
    if not args.no_sync_extension and has_extension and site.sync_extension_config(root):
        print(
            f"updated {site.EXTENSION_CONFIG} from [tool.course] in pyproject.toml "
            "(re-run `make env` so JupyterLab gets it)"
        )
    options = {}
    if args.cell_timeout is not None:
        options["cell_timeout"] = args.cell_timeout
    if args.notebook_timeout is not None:
        options["notebook_timeout"] = args.notebook_timeout
    try:
        built = site.build_site(root, args.output, execute=not args.no_execute, **options)
    except site.SiteError as error:
        print(f"course site: {error}", file=sys.stderr)
        return 1
    print(f"site: {built.root} ({len(built.pages)} notebook pages and index.html)")
    url = links.configured_site_url(root)
    if url:
        print(f"publish it at {url}/ (the address in [tool.course] site_url)")
    return 0
