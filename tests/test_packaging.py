"""How the course installs: pip (make) and conda agree, the library stands apart from the tooling,
and the student bundle installs and imports on its own (the student install: tests/support/student_install.py)."""

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from support.student_install import NOT_INSTALLED

ROOT = Path(__file__).resolve().parents[1]
#: What `make env` installs besides the dependencies (environment.yml mirrors it).
DEVELOPER_EXTRAS = ("test", "instructor")


def _name_and_spec(requirement: str) -> tuple[str, str]:
    """Split 'pkg[extra]>=1,<2; marker' into a normalised name and the version spec with its marker."""
    match = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*([^;]*)(;.*)?$", requirement)
    name = match.group(1).lower().replace("_", "-")
    spec = match.group(3).replace(" ", "")
    marker = (match.group(4) or "").replace(" ", "").replace('"', "'")
    return name, spec + marker


def _pyproject_requirements(root: Path = ROOT, extras=DEVELOPER_EXTRAS) -> dict[str, str]:
    """The dependencies ``root/pyproject.toml`` installs with ``extras``."""
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    optional = project.get("optional-dependencies", {})
    requirements = project["dependencies"] + [r for name in extras for r in optional[name]]
    pairs = [_name_and_spec(r) for r in requirements]
    result = dict(pairs)
    # pip's "dask[distributed]" is conda's dask + distributed
    if "dask" in result:
        result["distributed"] = result["dask"]
    return result


def _environment_requirements(root: Path = ROOT) -> dict[str, str]:
    environment = yaml.safe_load((root / "environment.yml").read_text())
    requirements = []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            requirements += [r for r in entry["pip"] if not r.startswith("-e")]
        elif not entry.startswith(("python", "pip")):
            requirements.append(entry)
    return dict(_name_and_spec(r) for r in requirements)


def test_environment_yml_and_pyproject_list_the_same_dependencies():
    assert _environment_requirements() == _pyproject_requirements()


def test_environment_pins_python_311():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in environment["dependencies"]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme
    assert re.search(r"^make test$", (ROOT / ".ci" / "run").read_text(), re.MULTILINE)


def test_make_env_installs_the_extras_environment_yml_lists():
    makefile = (ROOT / "Makefile").read_text()
    assert 'pip install --quiet -e ".[$(EXTRAS)]"' in makefile
    assert "EXTRAS := test$(if $(wildcard course_tools/__init__.py),$(comma)instructor)" in makefile


def test_dask_is_only_in_the_instructor_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(r.startswith("dask") for r in project["dependencies"])
    assert any(r.startswith("dask[distributed]") for r in project["optional-dependencies"]["instructor"])


# ---------------------------------------------------------------------- the library and the tooling

_TOOLING_NAME = re.compile(r"course_tools(\.\w+)*")


def test_the_library_never_names_the_tooling_in_an_import():
    """No ``import course_tools...``, ``from course_tools...`` or ``import_module("course_tools...")``."""
    offenders = []
    for path in sorted((ROOT / "course_utils").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            else:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names]
    offenders = [entry for entry in offenders if _TOOLING_NAME.fullmatch(entry.rsplit(": ", 1)[1])]
    assert not offenders, f"the library imports the tooling: {offenders}"


def test_every_library_module_and_name_imports_without_the_tooling_or_dask():
    script = (
        "import importlib, pkgutil, sys\n"
        "for blocked in ('course_tools', 'dask', 'distributed'):\n"
        "    sys.modules[blocked] = None  # importing it now raises ImportError\n"
        "import course_utils\n"
        "modules = [m.name for m in pkgutil.walk_packages(course_utils.__path__, 'course_utils.')]\n"
        "for name in modules:\n"
        "    importlib.import_module(name)\n"
        "for name in course_utils.__all__:\n"
        "    getattr(course_utils, name)\n"
        "from course_utils.cli import build_parser\n"
        "build_parser().parse_args(['lr-find'])\n"
        "print(len(modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout.split()[-1]) >= 12


# ---------------------------------------------------------------------- the student bundle installs


def _notebook_imports(folder: Path) -> list[str]:
    """Every import statement in the code cells of the notebooks under ``folder``."""
    statements = []
    for path in sorted(folder.rglob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
            for node in ast.walk(ast.parse("\n".join(lines))):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    statements.append(ast.unparse(node))
    return sorted(set(statements))


def test_the_student_install_imports_what_every_notebook_imports(student_install):
    """Every import line of the bundle's notebooks, in the venv where the tooling and Dask are missing.

    tests/test_notebooks.py runs the notebooks themselves there (its autograde uses the student kernel).
    """
    imports = _notebook_imports(student_install.folder / "notebooks")
    assert any(line.startswith("from course_utils") for line in imports), imports
    script = "\n".join(
        [
            "import importlib, json",
            *imports,
            "import course_utils",
            "missing = {}",
            f"for name in {NOT_INSTALLED!r}:",
            "    try:",
            "        importlib.import_module(name)",
            "    except ModuleNotFoundError as error:",
            "        missing[name] = str(error)",
            "print(json.dumps({'course_utils': course_utils.__file__, 'missing': missing}))",
        ]
    )
    done = subprocess.run(
        [student_install.python, "-c", script],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=student_install.environment,  # not the bundle folder, whose course_utils/ would shadow the install
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.splitlines()[-1])
    assert Path(found["course_utils"]).is_relative_to(student_install.site_packages), found
    assert found["missing"] == {name: f"No module named {name!r}" for name in NOT_INSTALLED}
    assert not (student_install.site_packages / "course_tools").exists()
    metadata = next(student_install.site_packages.glob("course_utils-*.dist-info")) / "METADATA"
    assert "dask" not in metadata.read_text()


def test_the_student_install_has_course_lr_find_and_the_link_extension(student_install):
    environment = student_install.environment
    done = subprocess.run(
        [environment / "bin" / "course", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "lr-find" in done.stdout and "release" not in done.stdout
    extension = environment / "share" / "jupyter" / "labextensions" / "course-utils-links"
    assert (extension / "package.json").is_file() and (extension / "static" / "remoteEntry.js").is_file()
    # "Copy link to this cell" reads the site address next to the extension
    assert (extension / "static" / "course-links.json").is_file()
    # nbgrader's Validate button reads the course's per-cell limit from the environment's config path
    validate_config = json.loads((environment / "etc" / "jupyter" / "nbgrader_config.json").read_text())
    assert validate_config["Execute"]["timeout"] >= 120, validate_config


def test_the_bundle_environment_yml_lists_what_pip_install_needs_and_no_dask(student_install):
    """conda's way to the student install is pip's: the library's dependencies, no extra, no Dask."""
    environment = _environment_requirements(student_install.folder)
    assert environment == _pyproject_requirements(student_install.folder, extras=())
    assert not {"dask", "distributed", "pytest"} & set(environment)
    pyproject = tomllib.loads((student_install.folder / "pyproject.toml").read_text())
    assert "instructor" not in pyproject["project"].get("optional-dependencies", {})
