"""A sandbox for grading kernels on Linux, without Docker.

Student code runs in the kernel, so the kernel is what we lock up; nbgrader itself (trusted) keeps
running in the grader. Every kernel is started through bubblewrap (``bwrap``):

- files: a private mount namespace that shows only the Python installation (read-only), the
  ``course_utils`` package (read-only), a private ``/tmp`` and the copy of the one submission being
  graded (read-write). ``solutions/``, the gradebook and other students' files do not exist there;
- network: a fresh network namespace with only its own loopback;
- processes: a private PID namespace, all capabilities dropped; everything the kernel started dies
  with it (``--die-with-parent``), and the whole sandbox dies with the grader process that launched
  it, even when the grader is killed in the instant it starts a kernel (:data:`PARENT_GUARD`);
- memory: ``RLIMIT_AS`` set by ``prlimit`` on the kernel (allocations beyond it fail with
  ``MemoryError``).

The kernel cannot reach the grader over TCP from its own network namespace, so the kernel manager
uses ZeroMQ's ``ipc`` transport: the sockets are files in a private runtime folder that both sides
see. Interrupts go as messages on the control channel (a SIGINT to the process group would kill
``bwrap`` itself, not just interrupt the kernel).

Wall-clock limits (per cell and per notebook) are enforced by the grader, see
:mod:`course_tools.grading.execute`. :func:`probe_sandbox` tells which of the above this machine
can enforce; nothing is assumed.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List, Unicode

from course_tools.grading.limits import SANDBOX_MODES, Limits

# What a kernel needs from /etc: user names, the dynamic linker's cache, time zone, fonts.
_ETC_ENTRIES = (
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "localtime",
    "timezone",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "fonts",
    "alternatives",
    "ssl",
    "mime.types",
)
# Environment variables passed into the sandbox (everything else is cleared).
_PASSED_ENVIRONMENT = (
    "LANG",
    "LC_ALL",
    "TF_CPP_MIN_LOG_LEVEL",
    "PYTHONWARNINGS",
    "PYTHONHASHSEED",
    "NBGRADER_EXECUTION",
    "MPLBACKEND",
    "KERAS_BACKEND",
    "OMP_NUM_THREADS",
    "PYDEVD_DISABLE_FILE_VALIDATION",
)
_SANDBOX_HOME = "/tmp/home"
#: Size of the sandbox's private /tmp (a tmpfs, so it is memory the kernel's RLIMIT_AS does not count).
TMP_BYTES = 512 * 2**20


class SandboxUnavailable(RuntimeError):
    """The requested isolation cannot be enforced on this machine."""


@dataclass(frozen=True)
class SandboxSupport:
    """What this machine can enforce, found by trying it (see :func:`probe_sandbox`)."""

    bwrap: str | None
    prlimit: str | None
    filesystem: bool
    network: bool
    processes: bool
    memory: bool
    problems: tuple[str, ...] = field(default=())

    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the protections that cannot be enforced here."""
        flags = {
            "filesystem": self.filesystem,
            "network": self.network,
            "processes": self.processes,
            "memory": self.memory,
        }
        return tuple(name for name, ok in flags.items() if not ok)

    @property
    def complete(self) -> bool:
        return not self.missing

    def describe(self, mode: str = "require") -> str:
        """One line for the summary: what is enforced, what is not and why."""
        if mode == "off":
            return "sandbox OFF: student code runs with the grader's rights (only time limits apply)"
        parts = [f"{name} {'yes' if ok else 'NO'}" for name, ok in self._items()]
        text = "sandbox: " + ", ".join(parts)
        if self.problems:
            text += " (" + "; ".join(self.problems) + ")"
        return text

    def _items(self):
        return (
            ("files", self.filesystem),
            ("network", self.network),
            ("processes", self.processes),
            ("memory", self.memory),
        )


def _python_roots() -> list[str]:
    """Folders the kernel's Python needs, read-only: the environment and the base installation."""
    roots = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    return sorted(roots)


def _package_root() -> str:
    """The ``course_utils`` package folder (an editable install puts it outside site-packages).

    Only the library the notebooks import: the grading tooling never runs inside the sandbox.
    """
    spec = importlib.util.find_spec("course_utils")
    return str(Path(spec.origin).resolve().parent)


def read_only_paths(extra=()) -> list[str]:
    """Everything the sandbox shows read-only, besides ``/usr`` and parts of ``/etc``."""
    paths = _python_roots() + [_package_root()] + [os.path.realpath(p) for p in extra]
    unique = []
    for path in sorted(set(paths)):
        if not any(path.startswith(parent + os.sep) for parent in unique):
            unique.append(path)
    return unique


def bwrap_arguments(
    *,
    writable: list[str],
    read_only: list[str] | None = None,
    workdir: str | None = None,
    network: bool = False,
    environment: dict[str, str] | None = None,
) -> list[str]:
    """The ``bwrap`` options for a private view of the file system (without the program to run).

    ``writable`` folders are bound read-write at the same path; ``read_only`` ones read-only.
    """
    read_only = read_only_paths() if read_only is None else read_only
    args = ["--unshare-all", "--die-with-parent", "--cap-drop", "ALL"]
    if network:
        args.append("--share-net")
    args += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "lib", "lib32", "lib64", "sbin"):
        target = Path("/") / name
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), str(target)]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    for entry in _ETC_ENTRIES:
        path = Path("/etc") / entry
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    # /tmp is memory-backed and outside RLIMIT_AS: cap its size.
    args += [
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--size",
        str(TMP_BYTES),
        "--tmpfs",
        "/tmp",
        "--dir",
        _SANDBOX_HOME,
    ]
    for path in read_only:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    for path in writable:
        args += ["--bind", path, path]
    if workdir:
        args += ["--chdir", workdir]
    args.append("--clearenv")
    env = {"HOME": _SANDBOX_HOME, "TMPDIR": "/tmp", "MPLCONFIGDIR": _SANDBOX_HOME + "/.matplotlib"}
    env["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"])
    for name, value in (environment or {}).items():
        env[name] = value
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    return args


def passed_environment(source: dict[str, str] | None = None) -> dict[str, str]:
    """The part of the grader's environment that the kernel may see."""
    source = os.environ if source is None else source
    return {name: source[name] for name in _PASSED_ENVIRONMENT if name in source}


def _run_quietly(command: list[str], timeout: float = 60) -> tuple[bool, str]:
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return False, str(error)
    return result.returncode == 0, (result.stderr or result.stdout).strip()[-300:]


@functools.lru_cache(maxsize=1)
def probe_sandbox() -> SandboxSupport:
    """Try each protection once on this machine, and report what works (cached per process)."""
    problems = []
    bwrap = shutil.which("bwrap")
    prlimit = shutil.which("prlimit")
    filesystem = network = processes = memory = False
    if not sys.platform.startswith("linux"):
        problems.append(f"the sandbox needs Linux; this is {sys.platform}")
    elif bwrap is None:
        problems.append("bwrap not found (Debian/Ubuntu: apt-get install bubblewrap)")
    else:
        with (
            tempfile.TemporaryDirectory(prefix="sandbox-probe-") as scratch,
            tempfile.TemporaryDirectory(prefix="sandbox-secret-") as secret_dir,
        ):
            marker = os.path.join(scratch, "written")
            secret = os.path.join(secret_dir, "secret")
            Path(secret).write_text("not for the kernel")
            # Inside: the probe folder is writable, the secret is invisible, the network is down,
            # /proc shows only the sandbox's processes.
            script = (
                "import os, socket\n"
                f"open({marker!r}, 'w').write('ok')\n"
                f"hidden = not os.path.exists({secret!r})\n"
                "offline = {name for _, name in socket.if_nameindex()} <= {'lo'}\n"
                "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
                "print(hidden, offline, len(pids) < 5)\n"
            )
            command = [bwrap, *bwrap_arguments(writable=[scratch]), "--", sys.executable, "-I", "-c", script]
            ok, output = _run_quietly(command)
            if not ok:
                problems.append(f"bwrap cannot create namespaces here: {output or 'no detail'}")
            else:
                flags = output.split()[-3:]
                filesystem = os.path.exists(marker) and flags[0] == "True"
                network = flags[1] == "True"
                processes = flags[2] == "True"
                for name, ok_flag in (("files", filesystem), ("network", network), ("processes", processes)):
                    if not ok_flag:
                        problems.append(f"{name} isolation did not hold in the probe")
    if prlimit is None:
        problems.append("prlimit not found (util-linux): no memory limit")
    else:
        ok, output = _run_quietly([prlimit, f"--as={1 << 30}", "--", sys.executable, "-I", "-c", "pass"])
        memory = ok
        if not ok:
            problems.append(f"prlimit failed: {output}")
    return SandboxSupport(bwrap, prlimit, filesystem, network, processes, memory, tuple(problems))


def check_mode(mode: str, support: SandboxSupport | None = None) -> SandboxSupport:
    """Raise :class:`SandboxUnavailable` if ``mode`` asks for more than this machine can enforce."""
    if mode not in SANDBOX_MODES:
        raise ValueError(f"sandbox must be one of {SANDBOX_MODES}; got {mode!r}.")
    support = probe_sandbox() if support is None else support
    if mode == "require" and not support.complete:
        raise SandboxUnavailable(
            "the grading sandbox cannot enforce: "
            + ", ".join(support.missing)
            + " ("
            + "; ".join(support.problems)
            + "). Fix that, or pass --sandbox best-effort to grade with what works "
            "(the summary will say what was not enforced)."
        )
    return support


# Run first in every kernel command (Linux): ask the kernel to SIGKILL this process when the
# launching process dies (PR_SET_PDEATHSIG = 1, kept across exec), then check that the launcher is
# still alive -- it may have died between fork and prctl, which no later flag can notice -- and exec
# the real command in place, so the pid the watchdog kills stays the same.
PARENT_GUARD = (
    "import ctypes, os, sys\n"
    "ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os._exit(70)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def parent_guard(parent_pid: int | None = None) -> list[str]:
    """The prefix that ties a command's life to ``parent_pid`` (default: this process); Linux only."""
    if not sys.platform.startswith("linux"):
        return []
    parent_pid = os.getpid() if parent_pid is None else parent_pid
    return [sys.executable, "-I", "-S", "-c", PARENT_GUARD, str(int(parent_pid))]


def kernel_command(
    command: list[str],
    *,
    workdir: str,
    runtime_dir: str,
    mode: str,
    memory_bytes: int | None,
    support: SandboxSupport,
    environment: dict[str, str] | None = None,
    extra_read_only=(),
) -> list[str]:
    """Wrap a kernel's command line in the sandbox that ``mode`` and ``support`` allow.

    Whatever the mode, the result starts with :func:`parent_guard`: a kernel never outlives the
    process that launched it.
    """
    inner = list(command)
    if mode != "off" and memory_bytes and support.memory:
        inner = [support.prlimit, f"--as={int(memory_bytes)}", "--", *inner]
    if mode == "off" or not support.bwrap or not support.filesystem:
        return parent_guard() + inner
    args = bwrap_arguments(
        writable=[workdir, runtime_dir],
        read_only=read_only_paths(extra_read_only),
        workdir=workdir,
        network=not support.network,
        environment=environment,
    )
    return [*parent_guard(), support.bwrap, *args, "--", *inner]


# Unix socket paths are limited to 107 bytes; ipc sockets are "<runtime dir>/zmq-<port>".
_MAX_SOCKET_FOLDER = 80


def _socket_folder(preferred: str) -> str | None:
    """Where to make the kernel's socket folder: ``preferred`` if its paths stay short enough."""
    for candidate in (preferred, tempfile.gettempdir(), "/tmp"):
        if (
            candidate
            and len(candidate) + len("/kernel-xxxxxxxx") <= _MAX_SOCKET_FOLDER
            and os.path.isdir(candidate)
        ):
            return candidate
    raise SandboxUnavailable(
        f"no temporary folder with a path short enough for kernel sockets (tried {preferred!r})"
    )


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts every kernel inside the sandbox.

    Configure it through ``c.SandboxedKernelManager.*``; :class:`~course_tools.grading.execute.GuardedExecute`
    uses it for every notebook it runs.
    """

    sandbox_mode = Unicode(Limits.sandbox, help="One of SANDBOX_MODES.").tag(config=True)
    memory_limit = Integer(None, allow_none=True, help="RLIMIT_AS for the kernel, in bytes.").tag(config=True)
    extra_read_only = List(Unicode(), help="More folders the kernel may read.").tag(config=True)
    runtime_root = Unicode("", help="Where to put the kernel's private socket folder.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._runtime_dir = tempfile.mkdtemp(prefix="kernel-", dir=_socket_folder(self.runtime_root))
        # ZeroMQ over files: works across the network namespace (TCP on loopback would not).
        self.transport = "ipc"
        self.ip = os.path.join(self._runtime_dir, "zmq")
        self.connection_file = os.path.join(self._runtime_dir, "kernel.json")

    def format_kernel_cmd(self, extra_arguments=None):
        command = super().format_kernel_cmd(extra_arguments)
        # A SIGINT to the process group would reach bwrap, which dies of it; ask the kernel instead.
        self.kernel_spec.interrupt_mode = "message"
        support = check_mode(self.sandbox_mode)
        workdir = os.path.realpath(self._launch_args.get("cwd") or os.getcwd())
        launch_env = self._launch_args.get("env") or os.environ
        return kernel_command(
            command,
            workdir=workdir,
            runtime_dir=self._runtime_dir,
            mode=self.sandbox_mode,
            memory_bytes=self.memory_limit,
            support=support,
            environment=passed_environment(launch_env),
            extra_read_only=self.extra_read_only,
        )

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # The kernel's own terminal chatter (connection hints) is of no use to the grader's user.
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    @property
    def kernel_pid(self) -> int | None:
        """The pid of the launched process (``bwrap``), for a watchdog that must kill it."""
        process = getattr(self.provisioner, "process", None)
        return getattr(process, "pid", None)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._runtime_dir, ignore_errors=True)
