"""Copied into the student venv's site-packages as ``_course_without_tooling.py``, and run at every
start of its Python by a ``.pth`` line: ``import _course_without_tooling; _course_without_tooling.block(...)``.

The venv borrows this environment's site-packages (TensorFlow, Jupyter) instead of installing them
again, and with them packages a student install never has: the tooling's Dask. ``block`` makes those
unimportable there, with the error a missing package gives (``ModuleNotFoundError: No module named
'dask'``), so the venv behaves as a student's ``pip install .`` without extras.
"""

import sys


class _NotInstalled:
    """A meta path finder that reports the blocked top-level packages (and their modules) missing."""

    def __init__(self, names):
        self.names = frozenset(names)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None  # not ours: the next finder looks


def block(*names: str) -> None:
    sys.meta_path.insert(0, _NotInstalled(names))
