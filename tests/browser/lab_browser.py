"""Plumbing for the real-browser test: Debian's Chromium, a throwaway JupyterLab, and the UI steps.

Everything it starts lives under one temporary folder and is stopped by pid; a final sweep
kills only processes whose command line names that folder (kernels run in their own session,
so stopping the server's process group would miss them).
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from helpers.lab import free_port, process_cmdline

# The real binary: /usr/bin/chromium is a shell wrapper Playwright cannot drive.
CHROMIUM_BINARIES = ("/usr/lib/chromium/chromium",)
# Per the machine notes: no GPU, no QUIC, and no background calls (the network is closed).
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
APT_TIMEOUT = 900

# Settings every JupyterLab user would otherwise get: news and update checks call the network,
# autosave would write into the notebooks, and windowing would drop off-screen cells from the DOM.
OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"checkForUpdates": False, "fetchNews": "false"},
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
    "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


class BrowserUnavailable(RuntimeError):
    """Chromium is missing and cannot be installed here; the message says why and what to do."""


# ---------------------------------------------------------------- Chromium

def find_chromium() -> str | None:
    return next((p for p in CHROMIUM_BINARIES if os.access(p, os.X_OK)), None)


def ensure_chromium(echo=print) -> str:
    """The Chromium binary, installing Debian's `chromium` package first if it is missing."""
    found = find_chromium()
    if found:
        return found
    if not shutil.which("apt-get"):
        raise BrowserUnavailable("Chromium is not installed and this system has no apt-get: "
                                 "install Debian's `chromium` package (or run on Debian)")
    if os.geteuid() != 0:
        raise BrowserUnavailable("Chromium is not installed and installing it needs root: "
                                 "run `sudo apt-get install chromium`, then run the test again")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=120"]
    steps = (["apt-get", *lock, "update", "-qq"],
             # fonts-liberation: readable screenshots without chromium's heavy recommends
             ["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends",
              "chromium", "fonts-liberation"])
    for cmd in steps:
        echo(f"ran `{' '.join(cmd)}`")
        try:
            out = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                 text=True, timeout=APT_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise BrowserUnavailable(f"`{' '.join(cmd)}` did not finish within {APT_TIMEOUT} s") from None
        if out.returncode:
            tail = " | ".join((out.stderr or out.stdout).strip().splitlines()[-3:])
            raise BrowserUnavailable(f"`{' '.join(cmd)}` failed (exit {out.returncode}): {tail}")
    found = find_chromium()
    if not found:
        raise BrowserUnavailable(f"the chromium package installed, but none of {CHROMIUM_BINARIES} exists")
    return found


# ---------------------------------------------------------------- processes

def pids_naming(marker: str) -> list[int]:
    """Live processes whose command line contains `marker` (a unique temporary path of ours)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            cmd = process_cmdline(int(entry.name))
            if cmd and marker in cmd:
                pids.append(int(entry.name))
    return pids


def stop_pid(pid: int, timeout: float = 10.0) -> None:
    """TERM, wait, then KILL one process we started."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process_cmdline(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if process_cmdline(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def sweep(marker: str) -> list[int]:
    """Kill, by pid, whatever still names our temporary folder (kernels, a stray browser)."""
    pids = pids_naming(marker)
    for pid in pids:
        stop_pid(pid, timeout=3.0)
    return pids


def jupyter_env(workdir: Path, lab_dir: Path) -> dict[str, str]:
    """Environment for JupyterLab, nbconvert and their kernels: our lab in local mode (never a
    real account, whatever LAB_MODE the caller has), and our private Jupyter dirs."""
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
    env.update(LAB_MODE="local", LAB_DIR=str(lab_dir), JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
               JUPYTER_CONFIG_DIR=str(workdir / "config"), IPYTHONDIR=str(workdir / "ipython"))
    return env


def execute_headless(notebook: Path, env: dict[str, str], timeout: int = 900) -> float:
    """Run a notebook top to bottom with nbconvert (in place, in the temporary copy)."""
    t0 = time.monotonic()
    cmd = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "--inplace",
           f"--ExecutePreprocessor.timeout={timeout}", "--ExecutePreprocessor.kernel_name=python3",
           str(notebook)]
    out = subprocess.run(cmd, env=env, cwd=notebook.parent, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=timeout + 60)
    if out.returncode:
        raise RuntimeError(f"{notebook.name} failed headless (exit {out.returncode}):\n"
                           + "\n".join(out.stderr.strip().splitlines()[-25:]))
    return time.monotonic() - t0


# ---------------------------------------------------------------- JupyterLab

@dataclass
class JupyterLab:
    """A JupyterLab server on 127.0.0.1 with a token, serving `root` (a temporary copy)."""

    root: Path
    workdir: Path
    env: dict[str, str]
    token: str = field(default_factory=lambda: secrets.token_hex(24))
    port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        # reset: open only this notebook, not the tabs a previous page left in the workspace
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def start(self, timeout: float = 90.0) -> None:
        settings = self.workdir / "app-settings"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "overrides.json").write_text(json.dumps(OVERRIDES, indent=2))
        self.port = free_port()
        cmd = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               "--ServerApp.open_browser=False", f"--ServerApp.root_dir={self.root}",
               f"--IdentityProvider.token={self.token}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.app_settings_dir={settings}",
               f"--LabApp.user_settings_dir={self.workdir / 'user-settings'}",
               f"--LabApp.workspaces_dir={self.workdir / 'workspaces'}",
               # No announcements feed, no update check, no PyPI extension manager: no network.
               "--LabApp.news_url=None",
               "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        log = open(self.workdir / "jupyterlab.log", "ab")
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.root, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited at start (code {self.proc.returncode}):\n"
                                   + self.log_tail())
            with contextlib.suppress(OSError):
                if self._api("GET", "/api/status") is not None:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def _api(self, method: str, path: str):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            body = resp.read()
            return json.loads(body) if body else {}

    def log_tail(self, lines: int = 30) -> str:
        path = self.workdir / "jupyterlab.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        """Shut the kernels down through the API, then stop the server by pid."""
        if self.proc is None:
            return
        with contextlib.suppress(OSError, ValueError):
            for kernel in self._api("GET", "/api/kernels") or []:
                with contextlib.suppress(OSError):
                    self._api("DELETE", f"/api/kernels/{kernel['id']}")
        stop_pid(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


# ---------------------------------------------------------------- the page

# What the UI knows about the notebook, read from JupyterLab's own models (expose_app_in_browser).
NOTEBOOK_STATE_JS = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.content || !panel.sessionContext) return null;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.map((cell, index) => ({cell, index}))
      .filter(({cell}) => cell.model.type === 'code');
  return {
    title: panel.title.label,
    kernel: kernel ? kernel.status : null,
    cells: cells.map(({cell, index}) => ({
      index,
      source: cell.model.sharedModel.getSource(),
      count: cell.model.executionCount,
      busy: cell.promptNode ? cell.promptNode.textContent.includes('*') : false,
      errors: cell.model.outputs.toJSON().filter(o => o.output_type === 'error')
                  .map(o => o.ename + ': ' + o.evalue),
    })),
  };
}"""
SHOWN_ON_PURPOSE = "NBVAL_RAISES_EXCEPTION"


@dataclass
class RunResult:
    name: str
    seconds: float
    cells: list[dict]

    def unexpected_errors(self) -> list[str]:
        return [f"cell {c['index']}: {e}" for c in self.cells for e in c["errors"]
                if SHOWN_ON_PURPOSE not in c["source"]]

    def not_run(self) -> list[int]:
        return [c["index"] for c in self.cells if c["source"].strip() and not c["count"]]


def notebook_state(page) -> dict | None:
    return page.evaluate(NOTEBOOK_STATE_JS)


def open_notebook(page, lab: JupyterLab, name: str, timeout: float = 90.0) -> None:
    """Open a notebook by URL and wait until its kernel has started and is idle."""
    page.goto(lab.notebook_url(name), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = notebook_state(page)
        if state and state["title"] == name and state["kernel"] == "idle":
            return
        page.wait_for_timeout(250)
    raise TimeoutError(f"{name}: the kernel was not idle within {timeout:.0f} s "
                       f"(last state: {state and state['kernel']})")


def click_menu(page, menu: str, item: str) -> None:
    """Main menu -> item, clicked by their labels as a person would."""
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(rf"^{menu}$")).click()
    label = page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$"))
    page.locator(".lm-Menu .lm-Menu-item").filter(has=label).click()


def select_cell(page, index: int) -> None:
    """Click a cell's prompt (not its editor), so it becomes the active cell in command mode."""
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputPrompt").click()


def wait_until_idle(page, name: str, timeout: float, observe=None) -> dict:
    """Wait until no cell is queued or running and the kernel is idle twice in a row.
    `observe(page)` is called on every poll (to sample live widgets while cells still run)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        if observe:
            observe(page)
        state = notebook_state(page)
        busy = state is None or state["kernel"] != "idle" or any(c["busy"] for c in state["cells"])
        quiet = 0 if busy else quiet + 1
        if quiet >= 2:
            return state
        page.wait_for_timeout(500)
    raise TimeoutError(f"{name}: cells still running after {timeout:.0f} s")


def run_all_cells(page, name: str, timeout: float = 600.0, observe=None) -> RunResult:
    """Run → Run All Cells. A cell that raises on purpose (NBVAL_RAISES_EXCEPTION) stops
    JupyterLab's run, as it would for a learner, who then runs the cells below it."""
    t0 = time.monotonic()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").click(position={"x": 5, "y": 5})
    click_menu(page, "Run", "Run All Cells")
    page.wait_for_timeout(500)
    state = wait_until_idle(page, name, timeout, observe)
    for _ in range(len(state["cells"])):
        pending = [c for c in state["cells"] if c["source"].strip() and not c["count"]]
        if not pending:
            break
        before = [c for c in state["cells"] if c["index"] < pending[0]["index"]]
        if not (before and before[-1]["errors"] and SHOWN_ON_PURPOSE in before[-1]["source"]):
            break  # stopped for another reason: reported by RunResult.not_run
        select_cell(page, pending[0]["index"])
        click_menu(page, "Run", "Run Selected Cell and All Below")
        page.wait_for_timeout(500)
        state = wait_until_idle(page, name, timeout - (time.monotonic() - t0), observe)
    return RunResult(name, time.monotonic() - t0, state["cells"])


# ---------------------------------------------------------------- what the run tells the summary

@dataclass
class Report:
    """Filled by the test, printed by conftest's terminal summary (so a skip is never silent)."""

    skipped: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    screenshots: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = []
        if self.skipped:
            out.append(f"BROWSER TEST SKIPPED: {self.skipped}")
        if self.timings:
            out.append("browser test timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        if self.screenshots:
            out.append(f"browser test screenshots in {self.screenshots[0].parent}: "
                       + ", ".join(p.name for p in self.screenshots))
        out += [f"browser test: {note}" for note in self.notes]
        return out


REPORT = Report()


# ---------------------------------------------------------------- the widget contract of notebook 03

ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"
COUNTDOWN, PICKER, INSPECTOR = ".lab-ttl-countdown", ".lab-expireat-picker", ".lab-key-inspector"
COUNTDOWN_TEXT = re.compile(r"(?P<key>\S+): (?:(?P<left>\d+) s left|(?P<expired>expired))")
# Marks the countdown element it has seen, so a re-rendered widget (the cell ran again) starts a
# new series instead of mixing with the stored output's value.
SAMPLE_JS = """(selector) => {
  const el = document.querySelector(selector);
  if (!el) return null;
  const fresh = !el.dataset.browserTestSeen;
  el.dataset.browserTestSeen = '1';
  return {fresh, text: el.innerText};
}"""


class CountdownWatch:
    """Samples the countdown's text while cells run (it may expire before Run All finishes)."""

    def __init__(self):
        self.samples: list[str] = []

    def __call__(self, page) -> None:
        seen = page.evaluate(SAMPLE_JS, f"{ACTIVE} {COUNTDOWN}")
        if not seen:
            return
        if seen["fresh"]:
            self.samples = []
        match = COUNTDOWN_TEXT.search(seen["text"])
        text = match.group(0) if match else seen["text"].strip()
        if not self.samples or self.samples[-1] != text:
            self.samples.append(text)

    def values(self) -> list[float]:
        """Seconds left per sample; expired counts as -1 (below any countdown value)."""
        out = []
        for text in self.samples:
            match = COUNTDOWN_TEXT.search(text)
            if match:
                out.append(-1.0 if match["expired"] else float(match["left"]))
        return out

    def decreased(self) -> bool:
        values = self.values()
        return any(v >= 0 for v in values) and any(
            later < earlier for i, earlier in enumerate(values) for later in values[i + 1:])

    def watch(self, page, seconds: float) -> None:
        """Keep sampling after the run until the value has gone down (or time is up)."""
        deadline = time.monotonic() + seconds
        while not self.decreased() and time.monotonic() < deadline:
            self(page)
            page.wait_for_timeout(500)
