"""course_tools.grading.sandbox: the bubblewrap command line, and what a real sandboxed run can see."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from course_tools.grading import sandbox

from support.courses import REPO


def test_kernel_command_wraps_in_bwrap_with_a_private_view():
    support = sandbox.SandboxSupport("/usr/bin/bwrap", "/usr/bin/prlimit", True, True, True, True)
    command = sandbox.kernel_command(
        ["python", "-m", "ipykernel_launcher", "-f", "/run/k/kernel.json"],
        workdir="/tmp/grade/course/autograded/s/a",
        runtime_dir="/run/k",
        mode="require",
        memory_bytes=2**30,
        support=support,
        environment={"NBGRADER_EXECUTION": "autograde"},
    )
    guard = sandbox.parent_guard()
    assert command[: len(guard)] == guard
    command = command[len(guard) :]
    assert command[0] == "/usr/bin/bwrap"
    separator = command.index("--")
    options, inner = command[:separator], command[separator + 1 :]
    assert inner[:2] == ["/usr/bin/prlimit", f"--as={2**30}"]
    assert "--unshare-all" in options and "--share-net" not in options and "--clearenv" in options
    binds = [options[i + 1] for i, option in enumerate(options) if option == "--bind"]
    assert binds == ["/tmp/grade/course/autograded/s/a", "/run/k"]
    assert options[options.index("--chdir") + 1] == "/tmp/grade/course/autograded/s/a"
    assert "NBGRADER_EXECUTION" in options
    read_only = [options[i + 1] for i, option in enumerate(options) if option == "--ro-bind"]
    assert str(REPO) not in read_only, "the course root (solutions, gradebook) must not be visible"
    assert str(REPO / "course_utils") in read_only


def test_kernel_command_off_and_missing_support():
    bare = sandbox.SandboxSupport(None, None, False, False, False, False, ("bwrap not found",))
    command = ["python", "-m", "ipykernel_launcher"]
    assert (
        sandbox.kernel_command(
            command, workdir="/w", runtime_dir="/r", mode="off", memory_bytes=1, support=bare
        )
        == sandbox.parent_guard() + command
    )
    assert bare.missing == ("filesystem", "network", "processes", "memory")
    with pytest.raises(sandbox.SandboxUnavailable, match="bwrap not found"):
        sandbox.check_mode("require", bare)
    assert sandbox.check_mode("best-effort", bare) is bare
    with pytest.raises(ValueError, match="sandbox must be one of"):
        sandbox.check_mode("strict", bare)
    assert "OFF" in bare.describe("off") and "network NO" in bare.describe("best-effort")


def test_the_parent_guard_refuses_to_start_for_a_parent_that_is_gone(tmp_path):
    """The launcher died between fork and prctl: the guard must not run the command at all."""
    marker = tmp_path / "started"
    not_my_parent = os.getpid() + 1 if os.getppid() != os.getpid() + 1 else os.getpid() + 2
    guarded = sandbox.parent_guard(not_my_parent) + ["touch", str(marker)]
    assert subprocess.run(guarded, timeout=30).returncode == 70
    assert not marker.exists()
    assert subprocess.run(sandbox.parent_guard() + ["touch", str(marker)], timeout=30).returncode == 0
    assert marker.exists()


@pytest.mark.parametrize("mode", ["off", "require"])
def test_a_sandboxed_command_dies_with_the_process_that_launched_it(tmp_path, mode):
    """SIGKILL the launcher (no clean-up runs): what it started through the sandbox must die too."""
    support = sandbox.probe_sandbox()
    if mode == "require" and not support.complete:
        pytest.fail("sandbox incomplete: " + support.describe() + " (apt-get install bubblewrap)")
    pid_file = tmp_path / "child.pid"
    launcher = (
        "import subprocess, sys, time\n"
        "from course_tools.grading import sandbox\n"
        "command = sandbox.kernel_command(['sleep', '600'], workdir=sys.argv[1], runtime_dir=sys.argv[1],\n"
        "    mode=sys.argv[2], memory_bytes=None, support=sandbox.probe_sandbox())\n"
        "child = subprocess.Popen(command, start_new_session=True)\n"
        "open(sys.argv[3], 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", launcher, str(tmp_path), mode, str(pid_file)])
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and parent.poll() is None, "the launcher did not start its child"
        time.sleep(0.05)
    child = int(pid_file.read_text())
    time.sleep(0.5)
    assert _alive(child), "the guarded command should run while its launcher lives"
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), f"{mode}: the command outlived its killed launcher"


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped by init, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_the_sandbox_hides_the_course_and_the_network(tmp_path):
    """A real bwrap run: only the given folder is visible and writable, and there is no network."""
    support = sandbox.probe_sandbox()
    if not support.complete:
        pytest.fail("sandbox incomplete: " + support.describe() + " (apt-get install bubblewrap)")
    script = (
        "import os, socket\n"
        f"print(os.path.exists({str(REPO / 'nbgrader_config.py')!r}))\n"
        "print(sorted(name for _, name in socket.if_nameindex()))\n"
        "import course_utils; print('imported')\n"
    )
    workdir = tmp_path
    command = sandbox.kernel_command(
        [sys.executable, "-c", script],
        workdir=str(workdir),
        runtime_dir=str(workdir),
        mode="require",
        memory_bytes=2**31,
        support=support,
    )
    output = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True).stdout.split(
        "\n"
    )
    assert output[:3] == ["False", "['lo']", "imported"]
