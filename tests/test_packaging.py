"""The two ways to install (pip via make, conda via environment.yml) must list the same dependencies."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name_and_spec(requirement: str) -> tuple[str, str]:
    """Split 'pkg[extra]>=1,<2; marker' into a normalised name and the version spec with its marker."""
    match = re.match(r"\s*([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*([^;]*)(;.*)?$", requirement)
    name = match.group(1).lower().replace("_", "-")
    spec = match.group(3).replace(" ", "")
    marker = (match.group(4) or "").replace(" ", "").replace('"', "'")
    return name, spec + marker


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + project["optional-dependencies"]["test"]
    pairs = [_name_and_spec(r) for r in requirements]
    result = dict(pairs)
    # pip's "dask[distributed]" is conda's dask + distributed
    if "dask" in result:
        result["distributed"] = result["dask"]
    return result


def _environment_requirements() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
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
