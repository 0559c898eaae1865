"""Shared fixtures, and the guard that fails the run if any server outlives the test suite."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import nbval.kernel
import psutil
import pytest
from jupyter_client.manager import KernelManager
from traitlets import default

from coursekit import servers

APPS = Path(__file__).resolve().parent / "apps"
RUN_ID = "COURSEKIT_TEST_RUN"
XDIST_WORKER = "exec(eval(sys.stdin.readline()))"  # how execnet starts a worker


class IPCKernelManager(KernelManager):
    """A kernel that talks over Unix sockets instead of five TCP ports.

    jupyter_client picks a kernel's ports by binding port 0 and closing it; until the kernel binds
    them, any outgoing connection may take one as its ephemeral port, and the kernel dies ("Kernel
    died before replying to kernel_info", ZMQError: Address already in use). This suite opens
    thousands of loopback connections, so its kernels use no TCP port at all.
    """

    @default("transport")
    def _default_transport(self):
        return "ipc"

    @default("ip")
    def _default_ip(self):
        folder = Path(tempfile.gettempdir()) / f"coursekit-ipc-{os.getuid()}"
        folder.mkdir(mode=0o700, exist_ok=True)
        return str(folder / f"kernel-{uuid.uuid4().hex[:12]}")


# A busy loop that also ends soon after pytest does, even if pytest is killed: run it with the
# starter's pid as its argument (not read with getppid() at its start: its parent may be gone already).
BUSY_LOOP = """
import os, sys
parent = int(sys.argv[1])
while os.getppid() == parent:
    for _ in range(1_000_000):
        pass
"""
_busy = []  # the --load processes, started by the controller only


def pytest_addoption(parser):
    parser.addoption("--load", type=int, default=0, metavar="N",
                     help="run N busy loops for the whole session, so that the suite meets a busy "
                          "machine, as on a classroom host (CI's loaded pass uses 2)")


def pytest_configure(config):
    # Every process the suite starts (kernels, servers, their workers) inherits this mark, so the
    # guard below can find any that survive. xdist workers inherit the controller's value.
    os.environ.setdefault(RUN_ID, uuid.uuid4().hex)
    if os.name != "nt":
        nbval.kernel.KernelManager = IPCKernelManager  # nbval starts its kernels through this name
    if not hasattr(config, "workerinput"):
        env = {k: v for k, v in os.environ.items() if k != RUN_ID}  # not the leak guard's business
        _busy.extend(subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(os.getpid())], env=env)
                     for _ in range(config.getoption("load")))


def stop_load():
    """End the --load busy loops and reap them."""
    while _busy:
        loop = _busy.pop()
        loop.kill()
        loop.wait()


def pytest_unconfigure(config):
    stop_load()  # also when the session was interrupted


def survivors(run_id, exclude=()):
    """Processes started under this test run that are still alive (not counting `exclude`)."""
    found = []
    for proc in psutil.process_iter(["pid", "environ", "cmdline"]):
        try:
            if proc.info["pid"] in exclude or (proc.info["environ"] or {}).get(RUN_ID) != run_id:
                continue
            if proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            pass
    return found


def xdist_workers(controller):
    """pytest-xdist's worker processes, which may still be exiting when the session finishes."""
    found = set()
    for child in controller.children():
        try:
            if XDIST_WORKER in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.Error:  # exited (or a zombie) meanwhile: not a worker to spare
            pass
    return found


def pytest_sessionfinish(session, exitstatus):
    """After the whole suite, nothing it started may still run (checked on the controller only)."""
    if hasattr(session.config, "workerinput"):
        return
    stop_load()
    me = psutil.Process()
    ours = {me.pid, *(p.pid for p in me.parents()), *xdist_workers(me)}
    deadline = time.monotonic() + 30  # watchdogs need a moment after kernels are killed
    left = survivors(os.environ[RUN_ID], ours)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = survivors(os.environ[RUN_ID], ours)
    if left:
        lines = "\n".join(f"  pid {p.pid}: {' '.join(p.info['cmdline'] or [])}" for p in left)
        session.config.get_terminal_writer().line(
            f"LEAK: processes started by the test suite are still running:\n{lines}", red=True)
        session.exitstatus = 1


@pytest.fixture
def app_file(tmp_path):
    """Copy a sample app from tests/apps into a fresh folder and return its path."""
    def copy(name):
        source = APPS / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name)
            return tmp_path / name
        shutil.copy(source, tmp_path / name)
        return tmp_path / name
    return copy


@pytest.fixture(autouse=True)
def no_servers_left_behind():
    yield
    servers.stop_all()


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright; the browser tests' one skip when it is missing."""
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: Debian's chromium is not installed at {CHROMIUM} "
                    "(CI installs it with apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
                                              timeout=30_000)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def open_page(browser):
    """open_page(*origins, fake={url: html}) -> a new page that may reach only URLs starting with one of
    `origins` (and the `fake` URLs, answered with that HTML by the test); every other request is aborted."""
    pages = []

    def open_(*origins, fake=None):
        fake = fake or {}
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.blocked = []  # what the page tried to reach and was refused

        def route(route):
            url = route.request.url
            if url in fake:
                route.fulfill(status=200, content_type="text/html", body=fake[url])
            elif url.startswith(origins):
                route.continue_()
            else:
                page.blocked.append(url)
                route.abort()
        page.route("**/*", route)
        pages.append(page)
        return page
    yield open_
    for page in pages:
        page.close()
