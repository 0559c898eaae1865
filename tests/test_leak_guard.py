"""The end-of-suite guard in conftest.py really finds a process the suite left running."""
import os
import subprocess
import sys

from conftest import RUN_ID, survivors


def test_guard_finds_a_leftover_process_and_forgets_it_once_stopped():
    leftover = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                                start_new_session=True)
    try:
        assert leftover.pid in [p.pid for p in survivors(os.environ[RUN_ID])]
    finally:
        leftover.kill()
        leftover.wait()
    assert leftover.pid not in [p.pid for p in survivors(os.environ[RUN_ID])]


def test_guard_ignores_processes_of_other_runs():
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                             env=dict(os.environ, **{RUN_ID: "another-run"}))
    try:
        assert other.pid not in [p.pid for p in survivors(os.environ[RUN_ID])]
    finally:
        other.kill()
        other.wait()
