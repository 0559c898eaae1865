"""The Windows branches of the toolkit and course.py, exercised on any OS.

Students run the course on Windows laptops, which CI does not have. These tests make the code
believe it runs on Windows (os.name == "nt" in the module under test only) and check what it
would ask of Windows: a new process group when starting, the whole tree found through psutil
(and by the server's token) when stopping, `taskkill /T /F` for JupyterLab, and no POSIX-only call.
"""
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from coursekit import servers, watchdog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import course  # noqa: E402

CREATE_NEW_PROCESS_GROUP = 0x00000200  # the value in Windows' headers


class WindowsOS:
    """The os module as a module under test sees it on Windows: name 'nt', no process groups."""

    name = "nt"

    def __getattr__(self, attribute):
        if attribute in ("killpg", "getpgid", "setsid", "getpgrp", "tcgetpgrp"):
            raise AssertionError(f"os.{attribute} does not exist on Windows")
        return getattr(os, attribute)


class FakeProcess:
    pid = 4321

    def __init__(self):
        self.waited, self.killed = [], False

    def wait(self, timeout=None):
        self.waited.append(timeout)
        return 1

    def poll(self):
        return None

    def kill(self):
        self.killed = True


@pytest.fixture
def on_windows(monkeypatch):
    """Pretend Windows in the toolkit and course.py; record every command they run."""
    for module in (servers, watchdog, course):
        monkeypatch.setattr(module, "os", WindowsOS())
    monkeypatch.setattr(subprocess, "CREATE_NEW_PROCESS_GROUP", CREATE_NEW_PROCESS_GROUP,
                        raising=False)
    commands = []

    def run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", run)
    return commands


def test_servers_start_in_a_new_process_group(on_windows):
    assert servers.own_process_group() == {"creationflags": CREATE_NEW_PROCESS_GROUP}


def test_posix_servers_start_in_a_new_session():
    assert servers.own_process_group() == {"start_new_session": True}


SPAWNS_A_CHILD = """
import os, subprocess, sys, time
# A grandchild of the test: the tree that a server with a worker forms.
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("ready", flush=True)
time.sleep(60)
"""


def start_tree(env=None):
    """A real leader that starts a worker and sleeps; returns the leader once the worker runs."""
    leader = subprocess.Popen([sys.executable, "-c", SPAWNS_A_CHILD], stdout=subprocess.PIPE,
                              env=dict(os.environ, **(env or {})))
    assert leader.stdout.readline() == b"ready\n"
    return leader


def test_stopping_a_server_ends_its_whole_tree_without_posix_calls(on_windows):
    """stop_servers() finds the tree through psutil, never os.killpg/getpgid, which Windows lacks."""
    leader = start_tree()
    worker = psutil.Process(leader.pid).children()[0]
    try:
        left = watchdog.stop_servers([(leader.pid, None)], grace=2)
        assert left == []
        leader.wait(5)
        assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE
    finally:
        for proc in (leader, worker):
            with contextlib.suppress(Exception):
                proc.kill()
        leader.stdout.close()


def test_a_child_that_left_the_tree_is_found_by_its_token_on_windows(on_windows):
    """On Windows there are no process groups: the server's token in the environment finds it."""
    token = "windows-test-token"
    escaped = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                               env=dict(os.environ, **{watchdog.TOKEN: token}))
    leader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert watchdog.stop_servers([(leader.pid, token)], grace=2) == []
        assert escaped.wait(5) is not None and leader.wait(5) is not None
    finally:
        for proc in (escaped, leader):
            with contextlib.suppress(Exception):
                proc.kill()


def test_course_py_finds_the_venv_python_under_scripts(on_windows):
    assert course.venv_python() == course.VENV / "Scripts" / "python.exe"


def test_course_py_relies_on_the_console_for_ctrl_c(on_windows):
    """On Windows, Ctrl+C reaches every process on the console: course.py must not resend it."""
    assert course.terminal_sends_ctrl_c() is True


def test_course_py_ends_jupyterlab_and_its_kernels_with_taskkill(on_windows):
    process = FakeProcess()
    course.end_now(process)
    assert on_windows == [["taskkill", "/T", "/F", "/PID", "4321"]]
    assert not process.killed  # kill() would leave the kernels running
