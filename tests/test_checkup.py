"""doctor() (coursekit/checkup.py) names what is wrong and how to fix it."""
import os
import subprocess
import sys
import time

import pytest

from coursekit import doctor
from coursekit.checkup import problems, stale_servers


def test_healthy_environment_reports_all_good(capsys, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    doctor()
    out = capsys.readouterr().out
    assert "✘" not in out and out.rstrip().endswith("All good: you are ready for the course.")


def test_wrong_package_version_is_named_with_its_fix(monkeypatch):
    monkeypatch.setattr("coursekit.checkup.pinned_packages", lambda: [("flask", "0.1"), ("nopkg-x", "1")])
    message = next(msg for ok, msg in problems() if not ok)
    assert "flask is" in message and "the course pins 0.1" in message and "nopkg-x is missing" in message
    assert "python3 course.py start" in message


def test_jupyterhub_is_recognised(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert any(ok and "On JupyterHub" in msg for ok, msg in problems())


@pytest.mark.servers
@pytest.mark.skipif(os.name == "nt", reason="POSIX process groups")
def test_stale_server_from_a_dead_kernel_is_found_and_stopped(capsys):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    env = dict(os.environ, COURSEKIT_SERVER="old_app", COURSEKIT_KERNEL_PID=str(dead.pid))
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while (orphan.pid, "old_app") not in stale_servers() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (orphan.pid, "old_app") in stale_servers()
        doctor()
        assert "still running: old_app" in capsys.readouterr().out
        doctor(fix=True)
        assert "Stopped 1 server(s)" in capsys.readouterr().out
        assert orphan.wait(10) is not None
    finally:
        orphan.kill()
        orphan.wait()
