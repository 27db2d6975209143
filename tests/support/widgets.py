"""What the explorers' tests share: the PNG an explorer shows, and what a student would see besides."""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import os
import sys
import tempfile
import warnings

import course_utils._quiet


def shown_png(explorer) -> bytes:
    """The PNG the explorer's Output widget currently holds (what the notebook page shows)."""
    (output,) = explorer.panel.output.outputs
    return base64.b64decode(output["data"]["image/png"])


def _visible_in_a_notebook(warning) -> bool:
    """Deprecations from other libraries are hidden in notebooks; everything else is shown."""
    if issubclass(warning.category, DeprecationWarning | PendingDeprecationWarning):
        return "course_utils" in warning.filename
    return True


@contextlib.contextmanager
def stderr_and_warnings():
    """Collect everything written to stderr (Python and C level) and every warning a student would see.

    Warnings are recorded every time, not once per place, so the result does not depend on which
    test ran first. The package's own warning rules (course_utils._quiet, applied at import in a
    notebook) are applied again here: pytest drops filters set while it collects tests.
    """
    report = {"stderr": "", "warnings": []}
    sys.stderr.flush()
    saved_fd = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        python_level = io.StringIO()
        try:
            with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(python_level):
                warnings.simplefilter("always")
                importlib.reload(course_utils._quiet)
                yield report
        finally:
            sys.stderr.flush()
            os.dup2(saved_fd, 2)
            os.close(saved_fd)
            sink.seek(0)
            report["stderr"] = python_level.getvalue() + sink.read().decode(errors="replace")
            report["warnings"] = [
                f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})"
                for w in caught
                if _visible_in_a_notebook(w)
            ]
