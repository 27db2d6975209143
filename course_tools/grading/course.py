"""The course as nbgrader sees it: its root, its ``nbgrader_config.py``, folders and gradebook.

Every ``course`` command that reads the course starts here, so that it reads the same
configuration as the ``nbgrader`` command run from the course root. :func:`course_root` is the one
answer to "where is the course?": the folder given, or else the checkout this package runs from
(the repository root, where ``nbgrader_config.py``, ``solutions/`` and ``notebooks/`` are).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

# nbgrader is imported inside the functions that run it: it is slow to import, and finding the
# course or reading its configuration (notebook_format does, on import) does not need it.

CONFIG_FILE = "nbgrader_config.py"
#: Where ``course grade`` keeps what it knows between runs (one file per submission).
STATE_DIRECTORY = ".grading"


def course_root(root=None) -> Path:
    """The course root: ``root`` if given, else the checkout this package runs from (``pip install -e .``)."""
    if root is not None:
        return Path(root).resolve()
    return Path(__file__).resolve().parents[2]


def load_config(root) -> Config:
    """The course's nbgrader configuration (empty if it has no ``nbgrader_config.py``)."""
    root = Path(root)
    path = root / CONFIG_FILE
    if not path.is_file():
        return Config()
    return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()


@dataclass(frozen=True)
class Course:
    """One nbgrader course directory and its configuration."""

    root: Path
    config: Config

    @classmethod
    def load(cls, root=None) -> Course:
        """The course at :func:`course_root` of ``root`` (by default this checkout)."""
        root = course_root(root)
        if not root.is_dir():
            raise FileNotFoundError(f"course directory {root} does not exist")
        config = load_config(root)
        config.CourseDirectory.root = str(root)
        return cls(root, config)

    def coursedir(self, **overrides):
        """An nbgrader ``CourseDirectory`` for this course (``overrides`` set its traits)."""
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        for name, value in overrides.items():
            setattr(coursedir, name, value)
        return coursedir

    def _directory(self, trait: str, default: str) -> Path:
        value = self.config.CourseDirectory.get(trait, default)
        return self.root / value

    @property
    def course_id(self) -> str:
        return self.config.CourseDirectory.get("course_id", "") or ""

    @property
    def source_dir(self) -> Path:
        return self._directory("source_directory", "source")

    @property
    def release_dir(self) -> Path:
        return self._directory("release_directory", "release")

    @property
    def submitted_dir(self) -> Path:
        return self._directory("submitted_directory", "submitted")

    @property
    def autograded_dir(self) -> Path:
        return self._directory("autograded_directory", "autograded")

    @property
    def feedback_dir(self) -> Path:
        return self._directory("feedback_directory", "feedback")

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.get("db_url", "") or "sqlite:///" + str(self.root / "gradebook.db")

    @property
    def db_path(self) -> Path | None:
        """The gradebook file, for SQLite gradebooks (the only kind the workers can copy)."""
        prefix = "sqlite:///"
        return Path(self.db_url[len(prefix) :]) if self.db_url.startswith(prefix) else None

    @property
    def cell_timeout(self) -> int:
        return int(self.config.Execute.get("timeout", 30) or 30)

    def state_dir(self, assignment: str) -> Path:
        return self.root / STATE_DIRECTORY / assignment

    def default_assignment(self) -> str:
        """The configured assignment, or the only folder in the source directory."""
        configured = self.config.CourseDirectory.get("assignment_id", "")
        if configured:
            return configured
        folders = (
            sorted(p.name for p in self.source_dir.iterdir() if p.is_dir())
            if self.source_dir.is_dir()
            else []
        )
        if len(folders) == 1:
            return folders[0]
        raise ValueError(
            f"assignment not given and {self.source_dir} holds {len(folders)} assignments: {folders}"
        )

    def source_files(self, assignment: str) -> dict[str, bytes]:
        """The source folder's files other than notebooks (data the notebooks read), by relative path."""
        folder = self.source_dir / assignment
        files = {}
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and path.suffix != ".ipynb" and not _ignored(relative):
                files[relative.as_posix()] = path.read_bytes()
        return files

    def source_hash(self, assignment: str) -> str:
        """A hash of the assignment's source folder: when it changes, earlier grades are stale."""
        folder = self.source_dir / assignment
        return hash_tree(folder) if folder.is_dir() else ""


def _ignored(relative: Path) -> bool:
    return any(part in {".ipynb_checkpoints", "__pycache__"} for part in relative.parts)


def hash_tree(folder) -> str:
    """SHA-256 over every regular file's relative path and bytes (symbolic links by their target)."""
    digest = hashlib.sha256()
    folder = Path(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            relative = path.relative_to(folder)
            if _ignored(relative):
                continue
            digest.update(relative.as_posix().encode() + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode())
            else:
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def assignment_in_gradebook(course: Course, assignment: str) -> bool:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gradebook:
        try:
            found = gradebook.find_assignment(assignment)
        except MissingEntry:
            return False
        return len(found.notebooks) > 0


def _quiet_logger() -> logging.Logger:
    logger = logging.getLogger("course_tools.grading.nbgrader")
    logger.propagate = False  # nbgrader's warnings go into the captured log, not onto the terminal
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.setLevel(logging.INFO)
    return logger


def run_nbgrader_step(step: str, config: Config, coursedir, **attributes) -> dict:
    """Run one of nbgrader's converters the way ``NbGraderAPI`` does, and return its outcome.

    ``step`` is ``generate_assignment``, ``autograde`` or ``generate_feedback``; ``attributes`` are
    set on the converter (``force``, ``create_student``, ...). Unlike ``NbGraderAPI`` this sets up
    no exchange (which logs a CRITICAL complaint on machines without one) and keeps nbgrader's log
    in the outcome (``success``, ``log``, ``error``) instead of on the terminal.
    """
    from nbgrader import converters
    from nbgrader.utils import capture_log

    classes = {
        "generate_assignment": converters.GenerateAssignment,
        "autograde": converters.Autograde,
        "generate_feedback": converters.GenerateFeedback,
    }
    if step not in classes:
        raise ValueError(f"step must be one of {tuple(classes)}; got {step!r}.")
    converter = classes[step](coursedir=coursedir, config=config, log=_quiet_logger())
    for name, value in attributes.items():
        setattr(converter, name, value)
    return capture_log(converter)


def sync_gradebook(course: Course, assignment: str) -> None:
    """Record the assignment's source cells in the gradebook, without touching the release folder.

    ``course release`` regenerates ``notebooks/`` in a scratch course, so the gradebook may not know
    the assignment yet. nbgrader's ``generate_assignment`` is what records it; here it writes its
    release into a temporary folder and only its gradebook entries are kept.
    """
    if not (course.source_dir / assignment).is_dir():
        raise FileNotFoundError(f"no source folder {course.source_dir / assignment}")
    with tempfile.TemporaryDirectory(prefix="course-sync-") as scratch:
        coursedir = course.coursedir(
            release_directory=os.path.join(scratch, "release"), assignment_id=assignment
        )
        outcome = run_nbgrader_step(
            "generate_assignment", course.config, coursedir, force=True, create_assignment=True
        )
    if not outcome.get("success"):
        raise RuntimeError(
            f"nbgrader generate_assignment failed:\n{outcome.get('error') or outcome.get('log')}"
        )
