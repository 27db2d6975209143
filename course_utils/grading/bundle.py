"""The student bundle: one zip with the released notebooks and what they need to run.

It holds the release folder (``notebooks/<assignment>/``) and the files that make ``make lab``
work (the ``course_utils`` package, ``pyproject.toml``, ``environment.yml``, ``README.md``,
``Makefile``), under one top folder. It never holds the source folder (``solutions/``), a gradebook,
submissions, feedback or grading state: those are refused by path, and every notebook in the zip
is checked for solution and hidden-test delimiters. The zip is reproducible (sorted members, fixed
time stamps), so rebuilding it from the same files gives the same bytes.
"""

from __future__ import annotations

import fnmatch
import zipfile
from dataclasses import dataclass
from pathlib import Path

from course_utils.grading.course import STATE_DIRECTORY, Course

#: What the bundle carries besides the release, relative to the course root (missing ones are skipped).
DEFAULT_INCLUDE = ("course_utils", "pyproject.toml", "environment.yml", "README.md", "Makefile", "LICENSE")
_EXCLUDED_NAMES = (
    "__pycache__",
    "*.pyc",
    ".ipynb_checkpoints",
    "*.db",
    "*.sqlite",
    "*.db-journal",
    ".DS_Store",
)
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Bundle:
    path: Path
    members: tuple[str, ...]


def _forbidden_folders(course: Course) -> list[Path]:
    return [
        course.source_dir,
        course.submitted_dir,
        course.autograded_dir,
        course.feedback_dir,
        course.root / STATE_DIRECTORY,
    ]


def _delimiters(course: Course) -> tuple[str, ...]:
    solutions = course.config.ClearSolutions
    hidden = course.config.ClearHiddenTests
    return (
        solutions.get("begin_solution_delimeter", "BEGIN SOLUTION"),
        hidden.get("begin_test_delimeter", "BEGIN HIDDEN TESTS"),
    )


def _excluded(path: Path) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in path.parts for pattern in _EXCLUDED_NAMES)


def _files_under(path: Path):
    if path.is_file():
        yield path
    elif path.is_dir():
        for item in sorted(path.rglob("*")):
            if item.is_file() and not item.is_symlink():
                yield item


def bundle_members(course: Course, assignment: str, include=DEFAULT_INCLUDE) -> dict[str, Path]:
    """Archive name -> file, after every exclusion; raises ValueError on a leak."""
    release = course.release_dir / assignment
    if not release.is_dir() or not any(release.glob("*.ipynb")):
        raise FileNotFoundError(f"no released notebooks in {release}: run `course release` first")
    forbidden = [folder.resolve() for folder in _forbidden_folders(course)]
    gradebook = course.db_path.resolve() if course.db_path else None
    members = {}
    for top in [release, *(course.root / name for name in include)]:
        for path in _files_under(top):
            relative = path.relative_to(course.root) if path.is_relative_to(course.root) else Path(path.name)
            if _excluded(relative):
                continue
            resolved = path.resolve()
            if (
                any(resolved == folder or folder in resolved.parents for folder in forbidden)
                or resolved == gradebook
            ):
                raise ValueError(f"refusing to bundle {path}: it belongs to the instructors")
            members[relative.as_posix()] = path
    delimiters = _delimiters(course)
    for name, path in members.items():
        if name.endswith(".ipynb"):
            text = path.read_text(encoding="utf-8", errors="replace")
            leaked = [marker for marker in delimiters if marker in text]
            if leaked:
                raise ValueError(f"refusing to bundle {name}: it contains {leaked[0]!r} (solution text)")
    return members


def build_student_bundle(
    course: Course, assignment: str, destination=None, *, include=DEFAULT_INCLUDE, top: str | None = None
) -> Bundle:
    """Write the student zip for ``assignment`` and return its path and members."""
    members = bundle_members(course, assignment, include)
    destination = Path(destination) if destination else course.root / "dist" / f"{assignment}-student.zip"
    destination.parent.mkdir(parents=True, exist_ok=True)
    top = top or course.course_id or "course"
    staging = destination.with_suffix(".partial")
    with zipfile.ZipFile(staging, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(f"{top}/{name}", date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, members[name].read_bytes())
    staging.replace(destination)
    return Bundle(destination, tuple(f"{top}/{name}" for name in sorted(members)))
