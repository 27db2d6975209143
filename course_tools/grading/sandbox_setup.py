"""Make sure the grading sandbox works here: ``python -m course_tools.grading.sandbox_setup``.

The grading sandbox needs bubblewrap (``bwrap``) and util-linux's ``prlimit``. As root this installs
Debian's ``bubblewrap`` package with apt-get when ``bwrap`` is missing; otherwise it says what to
install. Then it tries every protection once (:func:`~course_tools.grading.sandbox.probe_sandbox`)
and exits non-zero if one does not hold, so ``make test`` stops with a clear message instead of
skipping the grading tests.
"""

from __future__ import annotations

import shutil
import sys

from course_tools._system import apt_install, is_root


def main() -> int:
    if shutil.which("bwrap") is None:
        if is_root() and shutil.which("apt-get"):
            if not apt_install("bubblewrap"):
                print("sandbox_setup: apt-get could not install bubblewrap", file=sys.stderr)
                return 1
        else:
            print(
                "sandbox_setup: bwrap not found; install bubblewrap (Debian/Ubuntu: sudo apt-get install "
                "bubblewrap; Fedora: sudo dnf install bubblewrap)",
                file=sys.stderr,
            )
            return 1
    from course_tools.grading.sandbox import probe_sandbox

    support = probe_sandbox()
    print(support.describe())
    if not support.complete:
        print("sandbox_setup: the grading sandbox is incomplete on this machine", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
