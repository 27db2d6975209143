"""Make sure the browser tests can run: ``python -m course_tools.browser_setup``.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``) through Playwright for Python.
Playwright's own browser download (``playwright install``) cannot work on a machine without
general network access, so the browser comes from the system's package manager instead: as root
this installs the ``chromium`` package with apt-get when it is missing; otherwise it says what to
install and exits non-zero, so ``make test`` stops with a clear message rather than skipping the
browser tests. Finally it starts the browser once, headless, to prove it runs.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from course_tools._system import apt_install, is_root

CHROMIUM = Path("/usr/bin/chromium")
# The same switches the browser tests use: no sandbox as root, and no background traffic to
# Google's services, which a closed network refuses (slowly).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--no-first-run",
)


def chromium_version() -> str | None:
    try:
        result = subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def smoke_test() -> str | None:
    """Start Chromium headless through Playwright and load a page; None if that works, else why not."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')."
    with tempfile.TemporaryDirectory(prefix="course-chromium-") as profile:
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    profile, executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
                )
                try:
                    page = context.new_page()
                    page.set_content("<p id='ok'>ok</p>")
                    text = page.inner_text("#ok")
                finally:
                    context.close()
        except Exception as error:  # Playwright raises its own error types; report any of them
            return f"Chromium did not start under Playwright: {error}"
    return None if text == "ok" else f"Chromium rendered {text!r} instead of 'ok'."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m course_tools.browser_setup",
        description="Install (as root) and check the Chromium the browser tests use.",
    )
    parser.add_argument("--no-install", action="store_true", help="only check; never call apt-get")
    parser.add_argument("--no-smoke", action="store_true", help="skip starting the browser once")
    args = parser.parse_args(argv)

    if not CHROMIUM.exists():
        if args.no_install or not is_root() or shutil.which("apt-get") is None:
            print(
                f"browser_setup: {CHROMIUM} is missing, and the browser tests need it.\n"
                "  On Debian/Ubuntu, as root:  apt-get install -y chromium\n"
                "  (Playwright's own browser download does not work here; the tests use the system's Chromium.)",
                file=sys.stderr,
            )
            return 1
        if not apt_install("chromium") or not CHROMIUM.exists():
            print(
                f"browser_setup: apt-get could not install chromium ({CHROMIUM} still missing).",
                file=sys.stderr,
            )
            return 1
    version = chromium_version()
    if version is None:
        print(f"browser_setup: {CHROMIUM} exists but `--version` failed.", file=sys.stderr)
        return 1
    if not args.no_smoke:
        problem = smoke_test()
        if problem:
            print(f"browser_setup: {problem}", file=sys.stderr)
            return 1
    print(f"browser_setup: {version} ready at {CHROMIUM}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
