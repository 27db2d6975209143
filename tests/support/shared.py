"""Something a whole test session builds once, also when pytest-xdist runs it on several workers."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def built_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """Run ``build(folder)`` once per test session and return ``folder``.

    With pytest-xdist every worker that needs it asks; the first builds it under the session's
    shared temporary folder while the others wait on a lock, then all read the same files. A failed
    build is recorded, so the other workers fail at once instead of building again.
    """
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above the workers' own ones
    folder = shared / name
    folder.mkdir(exist_ok=True)
    done, failed = folder / ".built", folder / ".failed"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if failed.exists():
                pytest.fail(f"building {name} failed (in another worker): {failed.read_text()}")
            if not done.exists():
                started = time.monotonic()
                try:
                    build(folder)
                except BaseException as error:
                    failed.write_text(f"{type(error).__name__}: {error}")
                    raise
                done.write_text(f"{time.monotonic() - started:.1f}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder
