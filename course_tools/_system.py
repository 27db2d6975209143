"""Debian packages the tests need (Chromium, bubblewrap), installed the same way for both.

``make test`` must work on a fresh machine: as root, a missing package is installed with apt-get
(refreshing the package lists once if the first try fails); the callers say what to do otherwise.
"""

from __future__ import annotations

import os
import subprocess


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _apt_get(*args: str) -> int:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    print("+ apt-get " + " ".join(args), flush=True)
    return subprocess.run(["apt-get", *args], env=env, check=False).returncode


def apt_install(package: str) -> bool:
    """Install Debian's ``package`` (root only); True when it is installed afterwards."""
    install = ("install", "-y", "--no-install-recommends", package)
    return _apt_get(*install) == 0 or (_apt_get("update") == 0 and _apt_get(*install) == 0)
