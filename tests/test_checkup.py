"""doctor() (coursekit/checkup.py) names what is wrong and how to fix it."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursekit import checkup, doctor
from coursekit.checkup import guarded_kernels, problems, stale_servers


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


def test_doctor_says_where_server_links_open_and_why(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    assert any(ok and "through jupyter-server-proxy" in msg and "JUPYTERHUB_SERVICE_PREFIX is set" in msg
               for ok, msg in problems())
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    assert any(not ok and "jupyter-server-proxy is not installed" in msg for ok, msg in problems())
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX")
    assert any(ok and "directly at http://127.0.0.1:PORT/" in msg and "not set" in msg
               for ok, msg in problems())


@pytest.mark.servers
@pytest.mark.skipif(os.name == "nt", reason="POSIX process groups")
def test_stale_server_from_a_dead_kernel_is_found_and_stopped(capsys, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    env = dict(os.environ, COURSEKIT_SERVER="old_app", COURSEKIT_KERNEL_PID=str(dead.pid))
    orphan = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env,
                              cwd=tmp_path, start_new_session=True)
    watchdog = subprocess.Popen([sys.executable, str(Path(checkup.__file__).with_name("watchdog.py")),
                                 str(dead.pid)], stdin=subprocess.PIPE)
    try:
        found = wait_for(lambda: guarded_kernels() and dead.pid in guarded_kernels())
        assert found and (orphan.pid, "old_app") not in stale_servers(tmp_path), (
            "a server whose watchdog still lives will be stopped by it: not stale")
        watchdog.stdin.close()
        watchdog.wait(10)
        assert wait_for(lambda: (orphan.pid, "old_app") in stale_servers(tmp_path))
        assert (orphan.pid, "old_app") not in stale_servers(), "outside the course folder: not ours"
        doctor(course=tmp_path)
        assert "still running: old_app" in capsys.readouterr().out
        doctor(fix=True, course=tmp_path)
        assert "Stopped 1 server(s)" in capsys.readouterr().out
        assert orphan.wait(10) is not None
    finally:
        orphan.kill()
        orphan.wait()
        watchdog.kill()
        watchdog.wait()


def wait_for(condition, timeout=5):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()
