"""Drive a real JupyterLab in headless Chromium, the way a student uses the course.

Used by ``tests/test_browser.py``. :class:`LabServer` starts ``jupyter lab`` on loopback with no
token, in a folder of its own and with throw-away Jupyter config, data and runtime directories,
so nothing from the machine's own Jupyter set-up leaks in. :func:`open_browser` launches Debian's
Chromium through Playwright (Playwright's own browser downloads cannot run here). The ``Notebook*``
helpers talk to JupyterLab's application object (``--LabApp.expose_app_in_browser=True`` puts it
on ``window.jupyterapp``) for what a user would do through menus, and use the mouse for sliders.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from course_tools.browser_setup import CHROMIUM, CHROMIUM_ARGS

VIEWPORT = {"width": 1280, "height": 900}
WIDGET_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


class LabServer:
    """``jupyter lab`` serving ``root_dir`` on 127.0.0.1 without a token; a context manager.

    ``extra_env`` reaches the server and, through it, every kernel (a test can put a patched
    package first on ``PYTHONPATH``, say).
    """

    def __init__(self, root_dir, *, extra_env: dict[str, str] | None = None, startup_timeout: float = 90):
        self.root_dir = Path(root_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = dict(extra_env or {})
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self._scratch = Path(tempfile.mkdtemp(prefix="course-lab-"))
        self.log_path = self._scratch / "jupyter-lab.log"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])  # kernels run this environment's python
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            env[name] = str(self._scratch / name.lower())
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        env.pop("JUPYTER_TOKEN", None)
        env.update(self.extra_env)
        return env

    def _write_user_settings(self) -> None:
        """No news or update checks: their toasts would cover the page and they need the network."""
        settings = self._scratch / "jupyter_config_dir" / "lab" / "user-settings" / "@jupyterlab"
        _write_json(
            settings / "apputils-extension" / "notification.jupyterlab-settings",
            {"fetchNews": "false", "checkForUpdates": False},
        )

    def command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root_dir}",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        return command

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self) -> LabServer:
        env = self.environment()
        for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            Path(env[name]).mkdir(parents=True, exist_ok=True)
        self._write_user_settings()
        log = open(self.log_path, "wb")  # noqa: SIM115 - the server writes to it until stop()
        self.process = subprocess.Popen(
            self.command(),
            cwd=self.root_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # stop() ends the server and its kernels as one process group
        )
        log.close()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(
            f"jupyter lab did not answer on {self.url} within {self.startup_timeout} s:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        self.process = None
        shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def chromium_missing_message() -> str | None:
    """None when Chromium and Playwright are ready; otherwise what to do about it."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found: run `python -m course_tools.browser_setup` (installs Debian's chromium as root)."
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is missing: pip install -e '.[test]'."
    return None


@contextlib.contextmanager
def open_browser(user_data_dir):
    """A headless Chromium context with a fresh profile in ``user_data_dir``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(CHROMIUM_ARGS),
            viewport=VIEWPORT,
        )
        try:
            yield context
        finally:
            context.close()


# --------------------------------------------------------------------------- JupyterLab pages

# JavaScript run in the page. `panel` is the current notebook panel.
_JS_CURRENT_PANEL = """
() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  return !!(panel && panel.content && panel.content.model && panel.context && panel.context.path);
}
"""

_JS_OPEN = """
async (path) => {
  const app = window.jupyterapp;
  const panel = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  await panel.context.ready;
  await panel.sessionContext.ready;
  return panel.context.path;
}
"""

_JS_WAIT_PANEL_READY = """
async (path) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  return panel.context.path;
}
"""

# Run every cell; resolves when the last one has finished (or failed), within `timeoutMs`.
_JS_RUN_ALL = """
async (timeoutMs) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const run = app.commands.execute('notebook:run-all-cells');
  const timer = new Promise((_, reject) => setTimeout(() => reject(new Error('run-all timed out')), timeoutMs));
  await Promise.race([run, timer]);
  return true;
}
"""

_JS_KERNEL_STATE = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.model.cells;
  let pending = 0, code = 0;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    code += 1;
    if (cell.executionCount === null || cell.executionState === 'running') pending += 1;
  }
  return {status: kernel ? kernel.status : 'none', pending, code};
}
"""

# Error outputs, widget views and widget render failures of the current notebook.
_JS_OUTPUTS = """
(widgetMime) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  const errors = [], widgetCells = [], stderr = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let k = 0; k < cell.outputs.length; k++) {
      const out = cell.outputs.get(k).toJSON();
      if (out.output_type === 'error') {
        errors.push({cell: i, id: cell.id, ename: out.ename, evalue: out.evalue});
      } else if (out.output_type === 'stream' && out.name === 'stderr') {
        stderr.push({cell: i, id: cell.id, text: String(out.text).slice(0, 300)});
      } else if (out.data && out.data[widgetMime]) {
        if (!widgetCells.includes(i)) widgetCells.push(i);
      }
    }
  }
  return {errors, widgetCells, stderr};
}
"""

# Bring cell `index` into view (JupyterLab only renders cells near the viewport) and tag it.
_JS_SHOW_CELL = """
async (index) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  await notebook.scrollToItem(index, 'start');
  const cell = notebook.widgets[index];
  cell.node.setAttribute('data-course-cell', String(index));
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  return cell.node.isConnected;
}
"""

# A fingerprint of what a cell's outputs show, leaving out the sliders themselves (their
# readouts change whenever they move): images by their data, everything else by its text.
_JS_OUTPUT_FINGERPRINT = """
(index) => {
  const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
  const area = cell.node.querySelector('.jp-Cell-outputArea');
  if (!area) return '';
  const clone = area.cloneNode(true);
  clone.querySelectorAll('.widget-slider, .jupyter-widget-slider').forEach(e => e.remove());
  const images = [...clone.querySelectorAll('img')].map(img => img.getAttribute('src') || '');
  const text = clone.textContent.replace(/\\s+/g, ' ');
  const all = images.join('|') + '#' + text;
  let hash = 2166136261;
  for (let i = 0; i < all.length; i++) { hash ^= all.charCodeAt(i); hash = Math.imul(hash, 16777619) >>> 0; }
  return hash.toString(16) + ':' + all.length + ':' + images.length;
}
"""

# The first code cell that shows a picture (a plot), or -1.
_JS_FIRST_FIGURE = """
() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    for (let k = 0; k < cell.outputs.length; k++) {
      const out = cell.outputs.get(k).toJSON();
      if (out.data && out.data['image/png']) return i;
    }
  }
  return -1;
}
"""

_JS_HEADING_IDS = """
async () => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  const ids = [];
  for (let i = 0; i < notebook.widgets.length; i++) {
    const cell = notebook.widgets[i];
    if (cell.model.type !== 'markdown') continue;
    await notebook.scrollToItem(i, 'start');
    for (let tries = 0; tries < 50 && !cell.rendered; tries++) await new Promise(r => setTimeout(r, 50));
    for (let tries = 0; tries < 50; tries++) {
      const found = cell.node.querySelectorAll('h1,h2,h3,h4,h5,h6');
      if (found.length || !cell.model.sharedModel.getSource().match(/^\\s{0,3}#/m)) break;
      await new Promise(r => setTimeout(r, 50));
    }
    for (const h of cell.node.querySelectorAll('h1,h2,h3,h4,h5,h6')) {
      ids.push({cell: i, id: h.getAttribute('data-jupyter-id') || h.id});
    }
  }
  return ids;
}
"""

_JS_CLOSE_CURRENT = """
async () => {
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.sessionContext) return false;
  await panel.sessionContext.shutdown();
  panel.context.model.dirty = false;
  panel.dispose();
  return true;
}
"""

_JS_WHERE_AM_I = """
(cellId) => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.content.model) return null;
  const notebook = panel.content;
  const index = notebook.widgets.findIndex(w => w.model.id === cellId);
  if (index < 0) return {path: panel.context.path, index: -1};
  const cell = notebook.widgets[index];
  const view = notebook.node.getBoundingClientRect();
  const box = cell.node.getBoundingClientRect();
  const visible = cell.node.isConnected && box.bottom > view.top && box.top < view.bottom && box.height > 0;
  return {
    path: panel.context.path,
    index,
    activeIndex: notebook.activeCellIndex,
    activeId: notebook.activeCell ? notebook.activeCell.model.id : null,
    visible,
    cellTop: box.top - view.top,
    viewHeight: view.height,
  };
}
"""

_JS_HEADING_VISIBLE = """
(anchor) => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content) return null;
  const view = panel.content.node.getBoundingClientRect();
  const heading = [...panel.content.node.querySelectorAll('h1,h2,h3,h4,h5,h6')]
    .find(h => (h.getAttribute('data-jupyter-id') || h.id) === anchor);
  if (!heading) return {found: false};
  const box = heading.getBoundingClientRect();
  return {found: true, visible: box.bottom > view.top && box.top < view.bottom, top: box.top - view.top};
}
"""

_JS_EXTENSIONS = """
() => {
  const app = window.jupyterapp;
  const plugins = app.listPlugins().filter(id => id.startsWith('@jupyter/nbgrader'));
  const active = plugins.filter(id => app.isPluginActivated(id));
  const commands = app.commands.listCommands().filter(id => id.startsWith('nbgrader:'));
  const menus = [...document.querySelectorAll('.lm-MenuBar-itemLabel')].map(e => e.textContent.trim());
  const courseLinks = app.listPlugins().filter(id => id.startsWith('course-utils-links') && app.isPluginActivated(id));
  return {plugins, active, commands, menus, courseLinks};
}
"""


def wait_for_app(page, timeout_ms: float = 120_000) -> None:
    """Wait until JupyterLab has started (its application object is ready)."""
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.started !== undefined && document.querySelector('#jp-main-dock-panel')",
        timeout=timeout_ms,
    )
    page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")


def open_lab(page, server: LabServer) -> None:
    """Load JupyterLab with an empty workspace."""
    page.goto(f"{server.url}/lab?reset", wait_until="domcontentloaded")
    wait_for_app(page)


def open_notebook(page, path: str) -> None:
    """Open ``path`` (relative to the server's root) as the current notebook, kernel started."""
    page.evaluate(_JS_OPEN, path)
    page.wait_for_function(_JS_CURRENT_PANEL, timeout=60_000)


def wait_for_notebook_from_url(page, path: str, timeout_ms: float = 120_000) -> None:
    """After navigating to a notebook URL, wait until that notebook is the current panel and ready.

    JupyterLab may reload the page once on its own (to move it to another workspace), so a
    lost page context is retried.
    """
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(3):
        try:
            wait_for_app(page, timeout_ms)
            page.wait_for_function(
                "(path) => { const a = window.jupyterapp; const p = a && a.shell.currentWidget;"
                " return !!(p && p.context && p.context.path === path); }",
                arg=path,
                timeout=timeout_ms,
            )
            page.evaluate(_JS_WAIT_PANEL_READY, path)
            return
        except PlaywrightError:
            if attempt == 2:
                raise
            page.wait_for_load_state("domcontentloaded")


def kernel_state(page) -> dict:
    return page.evaluate(_JS_KERNEL_STATE)


def run_all_cells(page, timeout_s: float = 240) -> dict:
    """Run every cell and wait for the kernel to go idle with no cell left to run."""
    page.evaluate(_JS_RUN_ALL, timeout_s * 1000)
    return wait_until_idle(page, timeout_s)


def wait_until_idle(page, timeout_s: float = 120, settle_s: float = 0.5) -> dict:
    """Wait until the kernel is idle with nothing pending, twice in a row ``settle_s`` apart."""
    deadline = time.monotonic() + timeout_s
    state = kernel_state(page)
    while time.monotonic() < deadline:
        state = kernel_state(page)
        if state["status"] == "idle" and state["pending"] == 0:
            time.sleep(settle_s)
            again = kernel_state(page)
            if again["status"] == "idle" and again["pending"] == 0:
                return again
        time.sleep(0.25)
    raise TimeoutError(f"kernel still busy after {timeout_s} s: {state}")


def notebook_outputs(page) -> dict:
    return page.evaluate(_JS_OUTPUTS, WIDGET_VIEW_MIME)


def show_cell(page, index: int):
    """Scroll cell ``index`` into view and return a locator for it."""
    page.evaluate(_JS_SHOW_CELL, index)
    return page.locator(f'[data-course-cell="{index}"]')


def first_figure_cell(page) -> int:
    """Index of the first code cell with a plot in its outputs, or -1."""
    return page.evaluate(_JS_FIRST_FIGURE)


def output_fingerprint(page, index: int) -> str:
    return page.evaluate(_JS_OUTPUT_FINGERPRINT, index)


def heading_ids(page) -> list[dict]:
    """The ids JupyterLab gave the rendered headings of the current notebook."""
    return page.evaluate(_JS_HEADING_IDS)


def close_notebook(page) -> None:
    """Shut the current notebook's kernel down and close it without saving."""
    wait_for_app(page)  # the page may still be reloading into another workspace
    page.evaluate(_JS_CLOSE_CURRENT)


def where_is_cell(page, cell_id: str) -> dict | None:
    return page.evaluate(_JS_WHERE_AM_I, cell_id)


def heading_position(page, anchor: str) -> dict | None:
    return page.evaluate(_JS_HEADING_VISIBLE, anchor)


def extension_state(page) -> dict:
    """Which nbgrader and course plugins JupyterLab has activated, with nbgrader's commands and menus."""
    return page.evaluate(_JS_EXTENSIONS)


def slider_readout(slider) -> str:
    readout = slider.locator(".widget-readout")
    return readout.inner_text().strip() if readout.count() else ""


def drag_slider(page, slider) -> None:
    """Drag the slider's handle to a quarter of its track from the far end, like a user would."""
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle").first
    track = slider.locator(".noUi-target, .slider-container").first
    handle_box, track_box = handle.bounding_box(), track.bounding_box()
    if handle_box is None or track_box is None:
        raise RuntimeError("slider is not visible: cannot drag it")
    start_x = handle_box["x"] + handle_box["width"] / 2
    y = handle_box["y"] + handle_box["height"] / 2
    fraction = (start_x - track_box["x"]) / max(track_box["width"], 1)
    end_x = track_box["x"] + track_box["width"] * (0.25 if fraction > 0.5 else 0.75)
    page.mouse.move(start_x, y)
    page.mouse.down()
    page.mouse.move(end_x, y, steps=4)
    page.mouse.up()
