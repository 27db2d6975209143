"""course_tools.grading.bundle: the student zip holds the release and the library, nothing secret."""

from __future__ import annotations

import re
import shutil
import tomllib
import zipfile

import pytest
import yaml

from course_tools.grading.bundle import (
    build_student_bundle,
    bundle_members,
    student_environment,
    student_pyproject,
)
from course_tools.grading.course import Course

from support.courses import REPO


def test_student_bundle_holds_the_release_and_the_package_and_nothing_secret(toy_course, tmp_path):
    course = Course.load(toy_course)
    bundle = build_student_bundle(course, "toy", tmp_path / "student.zip")
    with zipfile.ZipFile(bundle.path) as archive:
        names = archive.namelist()
        top = "toy-course/"
        assert all(name.startswith(top) for name in names)
        for notebook in (toy_course / "notebooks" / "toy").glob("*.ipynb"):
            assert archive.read(f"{top}notebooks/toy/{notebook.name}") == notebook.read_bytes()
        assert f"{top}course_utils/__init__.py" in names and f"{top}pyproject.toml" in names
        assert not any("/course_tools/" in name for name in names), "the tooling is not for students"
        student = tomllib.loads(archive.read(f"{top}pyproject.toml").decode())
        assert student["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == ["course_utils"]
        assert not any(
            "/solutions/" in name or name.endswith(".db") or "/submitted/" in name for name in names
        )
        assert not any("__pycache__" in name for name in names)
        for name in names:
            if name.endswith(".ipynb"):
                text = archive.read(name).decode()
                assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    again = build_student_bundle(course, "toy", tmp_path / "again.zip")
    assert again.path.read_bytes() == bundle.path.read_bytes(), "the zip is not reproducible"


def test_bundle_refuses_solution_text_and_instructor_folders(toy_course, tmp_path):
    course = Course.load(toy_course)
    with pytest.raises(ValueError, match="belongs to the instructors"):
        bundle_members(course, "toy", include=("solutions",))
    with pytest.raises(ValueError, match="belongs to the instructors"):
        bundle_members(course, "toy", include=("course_tools",))
    leaked = toy_course / "notebooks" / "toy" / "leak.ipynb"
    shutil.copy(toy_course / "solutions" / "toy" / "squares.ipynb", leaked)
    try:
        with pytest.raises(ValueError, match="BEGIN SOLUTION"):
            build_student_bundle(course, "toy", tmp_path / "leak.zip")
    finally:
        leaked.unlink()


def test_student_pyproject_is_the_course_one_cut_down_to_the_library():
    text = (REPO / "pyproject.toml").read_text()
    course, student = tomllib.loads(text), tomllib.loads(student_pyproject(text))
    assert student["build-system"] == course["build-system"]
    assert student["project"]["dependencies"] == course["project"]["dependencies"]
    extras = dict(course["project"]["optional-dependencies"])
    del extras["instructor"]
    assert student["project"]["optional-dependencies"] == extras
    assert student["project"]["scripts"] == {"course": "course_utils.cli:main"}
    wheel = student["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["course_utils"]
    assert wheel["shared-data"] == course["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert set(student["tool"]) == {"hatch"}
    leaky = text + '\n[tool.hatch.build.targets.wheel.force-include]\n"course_tools/site" = "site"\n'
    with pytest.raises(ValueError, match="would still name course_tools"):
        student_pyproject(leaky)


def _entries(environment: dict) -> list[str]:
    """The dependency entries of a parsed environment.yml, the pip ones included."""
    entries = []
    for entry in environment["dependencies"]:
        entries += entry["pip"] if isinstance(entry, dict) else [entry]
    return entries


def test_student_environment_is_the_course_one_cut_down_to_the_library():
    pyproject = (REPO / "pyproject.toml").read_text()
    course = yaml.safe_load((REPO / "environment.yml").read_text())
    text = student_environment((REPO / "environment.yml").read_text(), pyproject)
    student = yaml.safe_load(text)
    assert (student["name"], student["channels"]) == (course["name"], course["channels"])
    entries = _entries(student)
    assert set(entries) <= set(_entries(course))
    names = {re.match(r"[A-Za-z0-9_.-]+", entry).group().lower() for entry in entries if entry != "-e ."}
    library = {
        re.match(r"[A-Za-z0-9_.-]+", r).group().lower()
        for r in tomllib.loads(pyproject)["project"]["dependencies"]
    }
    assert names == library | {"python", "pip"}
    assert "-e ." in entries and "python=3.11" in entries
    assert not {"dask", "distributed", "pytest", "playwright"} & names
    assert "instructor extra" not in text and "tests/test_packaging.py" not in text


def test_repository_bundle_has_no_solutions(tmp_path):
    """The course's own zip: the release, the library (its command and lab extension), nothing secret.

    The release must be there: without it the bundle would hold no notebooks, and that is a failure,
    not a reason to skip.
    """
    course = Course.load(REPO)
    released = sorted((course.release_dir / "learning-rate").glob("*.ipynb"))
    assert released, f"no release notebooks in {course.release_dir / 'learning-rate'}: run `course release`"
    bundle = build_student_bundle(course, "learning-rate", tmp_path / "course.zip")
    top = bundle.members[0].split("/", 1)[0] + "/"
    for path in released:
        assert f"{top}notebooks/learning-rate/{path.name}" in bundle.members
    for member in (
        "course_utils/__init__.py",
        "course_utils/cli/lr_find.py",
        "course_utils/labextension/package.json",
    ):
        assert f"{top}{member}" in bundle.members
    assert not any("/solutions/" in name or name.endswith("gradebook.db") for name in bundle.members)
    assert not any(name.startswith(f"{top}course_tools") for name in bundle.members)
    with zipfile.ZipFile(bundle.path) as archive:
        environment = archive.read(f"{top}environment.yml").decode()
    assert environment == student_environment(
        (REPO / "environment.yml").read_text(), (REPO / "pyproject.toml").read_text()
    )
    assert "dask" not in environment
