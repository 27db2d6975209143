"""`make lab` starts JupyterLab on notebooks/, prints its URL, honours PORT, and opens no browser without a display."""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_make_lab_serves_the_notebooks_on_the_chosen_port(tmp_path):
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key != "DISPLAY"}
    opened = tmp_path / "browser-was-opened"
    # Python's webbrowser runs $BROWSER: if JupyterLab tried to open a browser, this file appears.
    env.update(PORT=str(port), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), BROWSER=f"touch {opened}")
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "-s", "lab"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and url is None:
            match = re.search(rf"(http://(?:localhost|127\.0\.0\.1):{port}/lab\?token=\w+)", log.read_text())
            url = match.group(1) if match else None
            assert process.poll() is None, f"make lab exited early:\n{log.read_text()}"
            time.sleep(0.5)
        assert url, f"no URL with port {port} printed within 120 s:\n{log.read_text()}"
        api = url.replace("/lab?token=", "/api/contents/?token=")
        with urllib.request.urlopen(api, timeout=30) as response:
            listing = response.read().decode()
        names = {entry for entry in re.findall(r'"name":\s*"([^"]+)"', listing)}
        expected = {path.name for path in (ROOT / "notebooks").iterdir() if not path.name.startswith(".")}
        assert expected and expected <= names, (
            f"JupyterLab should serve notebooks/ ({expected}); it lists {names}"
        )
        time.sleep(2)
        assert not opened.exists(), "with no DISPLAY, make lab must not open a browser"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
