"""The suite's --load option: N busy loops compete for the cores for the session, then end."""
import subprocess
import sys
import time
from types import SimpleNamespace

import psutil

import conftest


def cpu_seconds(proc):
    times = proc.cpu_times()
    return times.user + times.system


def test_load_starts_busy_loops_and_stop_load_ends_them():
    conftest.pytest_configure(SimpleNamespace(getoption={"load": 2}.get))
    loops = [psutil.Process(p.pid) for p in conftest._busy]
    try:
        assert len(loops) == 2
        deadline = time.monotonic() + 60
        while min(cpu_seconds(p) for p in loops) < 0.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert min(cpu_seconds(p) for p in loops) >= 0.2, "a loop is not using the CPU"
    finally:
        conftest.stop_load()
    assert conftest._busy == [] and not any(p.is_running() for p in loops)


def test_a_busy_loop_ends_when_the_process_that_started_it_is_gone():
    """A pytest that is killed cannot stop its loops: they notice that their parent changed."""
    start_one = ("import os, subprocess, sys\n"
                 f"loop = subprocess.Popen([sys.executable, '-c', {conftest.BUSY_LOOP!r}, str(os.getpid())],\n"
                 "                        stdout=subprocess.DEVNULL)\n"
                 "print(loop.pid)\n")  # and exit at once
    starter = subprocess.run([sys.executable, "-c", start_one], stdout=subprocess.PIPE, text=True, timeout=60)
    loop = psutil.Process(int(starter.stdout))
    loop.wait(30)  # psutil.TimeoutExpired if it still runs
