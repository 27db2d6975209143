"""nbgrader's ``Execute``, hardened so that one bad notebook cannot stall or sink a batch.

What nbgrader does by itself: a per-cell timeout (``Execute.timeout``) that interrupts the kernel.
What it does not: bound the whole notebook, survive a kernel that dies (``os._exit``, a crash), a
kernel that ignores the interrupt, or a cell that prints gigabytes into the grader's memory. In
each of those cases nbgrader gives up on the whole submission. :class:`GuardedExecute` instead

- gives every cell ``min(cell timeout, time left for the notebook)``, so the notebook as a whole
  stops at ``notebook_timeout``;
- when the kernel is lost (died, or unresponsive and then killed), writes an error output into the
  cell that was running and into every code cell after it: nbgrader then scores those test cells
  zero (an unexecuted test cell without an error would otherwise earn full marks), and the cells
  before keep their marks;
- keeps at most ``max_output_bytes`` of output per cell (the rest is dropped, with a note);
- records what happened, one JSON line per event, in ``events_path`` for the grading report.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from course_tools.grading.limits import Limits
from course_tools.grading.sandbox import SandboxedKernelManager

#: ``ename`` of the error outputs the watchdog writes (the checks recognise them).
NOT_RUN = "GradingStopped"
CELL_TIMEOUT = "CellTimeoutError"


def _output_size(msg: dict) -> int:
    content = msg.get("content", {})
    size = len(content.get("text", "") or "")
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    size += sum(len(line) for line in content.get("traceback", []) or [])
    return size


class GuardedExecute(Execute):
    """nbgrader's Execute with a notebook watchdog, an output cap and kernel-loss handling."""

    notebook_timeout = Integer(
        Limits.notebook_timeout, help="Wall-clock seconds for the whole notebook."
    ).tag(config=True)
    max_output_bytes = Integer(Limits.max_output_bytes, help="Output kept per cell, in characters.").tag(
        config=True
    )
    events_path = Unicode("", help="Where to append one JSON line per grading event.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------------ per notebook
    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.notebook_timeout
        self._lost = None  # why the kernel is gone, once it is
        self._deadline_binds = False
        self._notebook = (resources or {}).get("nbgrader", {}).get("notebook", "")
        return super().preprocess(nb, resources, km)

    # ------------------------------------------------------------------ per cell
    def _get_timeout(self, cell):
        timeout = super()._get_timeout(cell)
        left = max(1, math.ceil(self._deadline - time.monotonic()))
        self._deadline_binds = timeout is None or left < timeout
        return left if self._deadline_binds else timeout

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)
        if self._lost is None and time.monotonic() >= self._deadline:
            self._lose(
                f"the notebook time limit ({self.notebook_timeout} s) was reached", cell, "notebook_timeout"
            )
        if self._lost is not None:
            cell.outputs = [self._error(NOT_RUN, f"not run: {self._lost}")]
            cell.execution_count = None
            return cell, resources
        self._output_used = 0
        self._output_capped = False
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            detail = self._exit_detail()
            cell.outputs.append(self._error("KernelDied", f"the kernel died while running this cell{detail}"))
            self._lose(f"the kernel died{detail}", cell, "kernel_died")
            return cell, resources
        except CellTimeoutError:
            # The interrupt did not stop the cell: the kernel ignores SIGINT or is stuck in C code.
            self._kill_kernel()
            cell.outputs.append(
                self._error(CELL_TIMEOUT, "the cell did not stop when interrupted; kernel killed")
            )
            self._lose("the kernel was killed after a cell did not stop", cell, "kernel_killed")
            return cell, resources
        timed_out = any(
            o.get("output_type") == "error" and o.get("ename") == CELL_TIMEOUT for o in cell.outputs
        )
        if timed_out and self._deadline_binds:
            self._lose(
                f"the notebook time limit ({self.notebook_timeout} s) was reached", cell, "notebook_timeout"
            )
        elif timed_out:
            self._event("cell_timeout", cell, f"interrupted after {self.timeout} s")
        if self._output_capped:
            self._event("output_truncated", cell, f"more than {self.max_output_bytes} characters of output")
        return cell, resources

    # ------------------------------------------------------------------ output cap
    def output(self, outs, msg, display_id, cell_index):
        used = getattr(self, "_output_used", 0) + _output_size(msg)
        self._output_used = used
        if used > self.max_output_bytes:
            if not self._output_capped:
                self._output_capped = True
                note = f"\n[grader: output truncated after {self.max_output_bytes} characters]\n"
                outs.append(new_output("stream", name="stdout", text=note))
            return None
        return super().output(outs, msg, display_id, cell_index)

    # ------------------------------------------------------------------ helpers
    def _error(self, ename: str, evalue: str):
        return new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])

    def _lose(self, reason: str, cell, kind: str) -> None:
        self._lost = reason
        self._event(kind, cell, reason)

    def _event(self, kind: str, cell, detail: str) -> None:
        if not self.events_path:
            return
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        record = {
            "kind": kind,
            "notebook": self._notebook,
            "cell": grade_id or cell.get("id"),
            "detail": detail,
        }
        with open(self.events_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    def _exit_detail(self) -> str:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = process.poll() if process is not None else None
        if code is None:
            return ""
        if code < 0 or code > 128:
            number = -code if code < 0 else code - 128
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f"signal {number}"
            return f" (killed by {name})"
        return f" (exit code {code})"

    def _kill_kernel(self) -> None:
        pid = getattr(self.km, "kernel_pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
