"""The student bundle: one zip with the released notebooks and what they need to run.

It holds the release folder (``notebooks/<assignment>/``) and the files that make ``make lab``
work (the ``course_utils`` library, ``pyproject.toml``, ``environment.yml``, ``README.md``,
``Makefile``), under one top folder. It never holds the tooling (``course_tools``), the source
folder (``solutions/``), a gradebook, submissions, feedback or grading state: those are refused by
path, and every notebook in the zip is checked for solution and hidden-test delimiters. Its
``pyproject.toml`` is the course's, cut down to the library (:func:`student_pyproject`), so that
``pip install .`` works in the unzipped folder, and its ``environment.yml`` lists the library's
dependencies alone (:func:`student_environment`): no Dask, no tooling. The zip is reproducible
(sorted members, fixed time stamps), so rebuilding it from the same files gives the same bytes.
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from course_tools.grading.course import STATE_DIRECTORY, Course

#: What the bundle carries besides the release, relative to the course root (missing ones are skipped).
DEFAULT_INCLUDE = ("course_utils", "pyproject.toml", "environment.yml", "README.md", "Makefile", "LICENSE")
#: Never in the bundle, whatever ``include`` says: the instructors' and mentors' tooling.
TOOLING = ("course_tools",)
#: The student install: the packages its wheel holds, its commands (``course lr-find`` only), and
#: the extras it drops (they serve the tooling).
STUDENT_PACKAGES = ("course_utils",)
STUDENT_SCRIPTS = {"course": "course_utils.cli:main"}
TOOLING_EXTRAS = ("instructor",)
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
                or relative.parts[0] in TOOLING
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
            data = members[name].read_bytes()
            if name == "pyproject.toml":
                data = student_pyproject(data.decode("utf-8")).encode("utf-8")
            elif name == "environment.yml" and "pyproject.toml" in members:
                pyproject = members["pyproject.toml"].read_text(encoding="utf-8")
                data = student_environment(data.decode("utf-8"), pyproject).encode("utf-8")
            archive.writestr(info, data)
    staging.replace(destination)
    return Bundle(destination, tuple(f"{top}/{name}" for name in sorted(members)))


def student_pyproject(text: str) -> str:
    """The course's ``pyproject.toml`` (``text``) as the bundle carries it: the library alone.

    Keeps the build system, ``[project]`` and hatch's build settings; the wheel packages only
    :data:`STUDENT_PACKAGES`, the commands are :data:`STUDENT_SCRIPTS` and the :data:`TOOLING_EXTRAS`
    are gone, so ``pip install .`` in the unzipped bundle needs no ``course_tools`` (and no Dask).
    Comments and tool settings for developers (ruff, pytest) are left out.
    """
    data = tomllib.loads(text)
    try:
        project = data["project"]
        wheel = data["tool"]["hatch"]["build"]["targets"]["wheel"]
    except KeyError as error:
        raise ValueError(
            f"pyproject.toml: no {error.args[0]!r} table; cannot make the student install"
        ) from None
    project["scripts"] = dict(STUDENT_SCRIPTS)
    extras = project.get("optional-dependencies", {})
    for name in TOOLING_EXTRAS:
        extras.pop(name, None)
    wheel["packages"] = list(STUDENT_PACKAGES)
    student = {
        "build-system": data["build-system"],
        "project": project,
        "tool": {"hatch": data["tool"]["hatch"]},
    }
    body = _toml_table(student).rstrip("\n") + "\n"
    leaked = [name for name in TOOLING if re.search(rf"\b{name}\b", body)]
    if leaked:
        raise ValueError(f"pyproject.toml: the student install would still name {leaked[0]}")
    return (
        "# The student install, written by `course release` from the course's pyproject.toml: the\n"
        "# course_utils library and `course lr-find`. The instructors' tooling is not in this bundle.\n\n"
        + body
    )


#: environment.yml entries the student environment keeps besides the library's dependencies.
_ENVIRONMENT_BASICS = ("python", "pip")
#: A package entry of environment.yml's dependencies (``  - numpy>=1.26``); not ``- -e .``.
_ENVIRONMENT_ENTRY = re.compile(r"^\s*-\s+(?!-e\s)([A-Za-z0-9_.-]+)")


def _requirement_name(requirement: str) -> str:
    return re.match(r"\s*([A-Za-z0-9_.-]+)", requirement).group(1).lower().replace("_", "-")


def student_environment(text: str, pyproject: str) -> str:
    """The course's ``environment.yml`` (``text``) as the bundle carries it: the library's needs alone.

    An entry stays if it is Python, pip, the ``-e .`` install or one of the ``dependencies`` in the
    course's ``pyproject.toml`` (``pyproject``); the extras (the instructors' Dask, the developers'
    test tools) go, and with them the comment lines that introduced only dropped entries. So
    ``conda env create`` in the unzipped bundle installs what ``pip install .`` needs, nothing more.
    The course's leading comments (about keeping it in step for developers) give way to a note.
    """
    needed = {_requirement_name(r) for r in tomllib.loads(pyproject)["project"]["dependencies"]}
    lines = text.splitlines()
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    kept, pending_comments, section = [], [], None
    for line in lines:
        if line.lstrip().startswith("#"):
            pending_comments.append(line)
            continue
        if re.match(r"[A-Za-z_]", line):  # a top-level key: name, channels, dependencies
            section = line.split(":", 1)[0]
        entry = _ENVIRONMENT_ENTRY.match(line) if section == "dependencies" else None
        name = _requirement_name(entry.group(1)) if entry else None
        if name is None or name in needed or name in _ENVIRONMENT_BASICS:
            kept += pending_comments + [line]
        pending_comments = []
    body = "\n".join(kept) + "\n"
    leaked = [name for name in TOOLING if name in body]
    if leaked:
        raise ValueError(f"environment.yml: the student environment would still name {leaked[0]}")
    return (
        "# The student environment, written by `course release` from the course's environment.yml: the\n"
        "# conda alternative to `pip install .` here, with the course_utils library's dependencies only.\n"
        "# The instructors' tooling (and its Dask) is not in this bundle.\n" + body
    )


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return json.dumps(value)  # a JSON string or number is a TOML one
    if isinstance(value, list):
        if len(value) < 2:
            return "[" + "".join(map(_toml_value, value)) + "]"
        return "[\n" + "".join(f"    {_toml_value(item)},\n" for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_table(table: dict, path: tuple[str, ...] = ()) -> str:
    """``table`` as TOML text: its plain keys under a ``[path]`` header, then its sub-tables."""
    plain = {key: value for key, value in table.items() if not isinstance(value, dict)}
    lines = [f"[{'.'.join(map(_toml_key, path))}]"] if path and (plain or len(table) == 0) else []
    lines += [f"{_toml_key(key)} = {_toml_value(value)}" for key, value in plain.items()]
    text = "\n".join(lines) + "\n\n" if lines else ""
    return text + "".join(
        _toml_table(value, (*path, key)) for key, value in table.items() if isinstance(value, dict)
    )
