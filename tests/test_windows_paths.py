"""The Windows branches of the toolkit and course.py, exercised on any OS.

Students run the course on Windows laptops, which CI does not have. These tests make the code
believe it runs on Windows (os.name == "nt" in the module under test only) and check what it
would ask of Windows: a new process group when starting, `taskkill /T /F` (the whole tree) when
stopping, and no POSIX-only call on the way.
"""
import os
import subprocess
import sys
from pathlib import Path

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


def test_stopping_a_server_ends_its_whole_tree_with_taskkill(on_windows):
    process = FakeProcess()
    servers.kill_group(process, timeout=3)
    assert on_windows == [["taskkill", "/T", "/F", "/PID", "4321"]]
    assert process.waited == [3]  # and the leader is reaped, with a deadline


def test_the_watchdog_ends_a_dead_kernels_servers_with_taskkill(on_windows):
    watchdog.kill_group(4321)
    assert on_windows == [["taskkill", "/T", "/F", "/PID", "4321"]]


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
