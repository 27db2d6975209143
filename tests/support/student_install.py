"""The student install: the course's student bundle, unzipped and installed with pip into a fresh
venv (offline), and a Jupyter kernel that runs in that venv.

The venv sees this environment's site-packages (for TensorFlow, Jupyter and hatchling) through a
plain path in a .pth file, so this environment's editable install, which would put the whole
repository on the path, does not apply there; pip installs the bundle's package into the venv. What
a student install never has (the tooling and Dask, which this environment holds) is made
unimportable in the venv (student_kernel/without_tooling.py).

The kernel (``STUDENT_KERNEL``, found through ``JUPYTER_PATH``) is the venv's Python running ipykernel,
as the course's ``python3`` kernel is this environment's. tests/test_notebooks.py autogrades every
notebook with it, and its record (student_kernel/record.py) shows which Python ran each one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

from support.courses import ASSIGNMENT, REPO

#: What a student install does not have: the tooling, and the Dask of its instructor extra.
NOT_INSTALLED = ("course_tools", "dask", "distributed")
STUDENT_KERNEL = "course-student"
#: Where the student kernel writes its records (set per nbgrader run).
RECORDS_VARIABLE = "COURSE_STUDENT_KERNEL_RECORDS"
_HERE = Path(__file__).resolve().parent / "student_kernel"


@dataclass(frozen=True)
class StudentInstall:
    folder: Path  # the unzipped bundle: notebooks/, pyproject.toml, environment.yml, ...
    environment: Path  # the venv
    site_packages: Path  # the venv's, where pip put course_utils
    jupyter_path: Path  # holds kernels/<STUDENT_KERNEL>/, for JUPYTER_PATH

    @property
    def python(self) -> Path:
        return self.environment / "bin" / "python"

    def kernel_environment(self, env: dict[str, str], records: Path) -> dict[str, str]:
        """``env`` for a process that starts notebook kernels: the student kernel findable first,
        its records going to ``records``."""
        jupyter_path = os.pathsep.join(filter(None, [str(self.jupyter_path), env.get("JUPYTER_PATH")]))
        return {**env, "JUPYTER_PATH": jupyter_path, RECORDS_VARIABLE: str(records)}


def student_install_in(work: Path) -> StudentInstall:
    """The install :func:`install_student_bundle` made in ``work``."""
    (folder,) = [path.parent for path in (work / "unzipped").glob("*/pyproject.toml")]
    (site_packages,) = (work / "venv" / "lib").glob("python3*/site-packages")
    return StudentInstall(folder, work / "venv", site_packages, work / "jupyter")


def install_student_bundle(work: Path) -> StudentInstall:
    """Build the repository's student bundle, install it into ``work/venv``, add the student kernel."""
    from course_tools.grading.bundle import build_student_bundle
    from course_tools.grading.course import Course

    bundle = build_student_bundle(Course.load(REPO), ASSIGNMENT, work / "student.zip")
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(work / "unzipped")
    environment = work / "venv"
    venv.EnvBuilder(with_pip=False).create(environment)
    (site_packages,) = (environment / "lib").glob("python3*/site-packages")
    (site_packages / "_outer_environment.pth").write_text(sysconfig.get_path("purelib") + "\n")
    shutil.copyfile(_HERE / "without_tooling.py", site_packages / "_course_without_tooling.py")
    (site_packages / "_course_without_tooling.pth").write_text(
        f"import _course_without_tooling; _course_without_tooling.block(*{NOT_INSTALLED!r})\n"
    )
    install = student_install_in(work)
    done = subprocess.run(
        [install.python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--ignore-installed", "--quiet", "--disable-pip-version-check", str(install.folder)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=work,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    _add_kernel(install)
    return install


def _add_kernel(install: StudentInstall) -> None:
    kernel = install.jupyter_path / "kernels" / STUDENT_KERNEL
    kernel.mkdir(parents=True)
    shutil.copyfile(_HERE / "record.py", kernel / "record.py")
    spec = {
        "argv": [
            str(install.python),
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            # what nbclient adds for the python3 kernel: no history database shared between kernels
            "--HistoryManager.hist_file=:memory:",
            f"--IPKernelApp.exec_files={kernel / 'record.py'}",
        ],
        "display_name": "Python 3 (the student install)",
        "language": "python",
        "env": {"COURSE_STUDENT_KERNEL_MISSING": " ".join(NOT_INSTALLED)},
    }
    (kernel / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
