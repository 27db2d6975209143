"""What a grading kernel may use, and how strictly the sandbox holds it there.

Only the standard library is imported here, so that ``course grade --help`` can show these
defaults without loading Jupyter or nbgrader; the worker, the sandbox and the command line all
read them from this module.
"""

from __future__ import annotations

from dataclasses import dataclass

#: ``require``: refuse to grade unless every protection works; ``best-effort``: use what works and
#: say what does not; ``off``: no isolation at all (timeouts still apply), for debugging only.
SANDBOX_MODES = ("require", "best-effort", "off")


@dataclass(frozen=True)
class Limits:
    """Limits for every grading kernel; see :mod:`course_tools.grading.sandbox`."""

    cell_timeout: int = 120
    notebook_timeout: int = 600
    memory_bytes: int | None = 4 * 2**30
    max_output_bytes: int = 1_000_000
    sandbox: str = "require"
