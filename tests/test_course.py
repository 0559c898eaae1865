"""course.py: set-up is idempotent, and `start` serves the whole course with lesson 00 first."""
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import course  # noqa: E402


def test_second_setup_installs_nothing(monkeypatch):
    """The suite itself runs after a set-up, so the stamp is current and nothing may be run."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"set-up ran {args} although nothing changed")

    monkeypatch.setattr(course, "run", refuse)
    course.setup()


def test_changed_lock_means_a_new_install(monkeypatch, tmp_path):
    lock = tmp_path / "requirements.txt"
    lock.write_text(course.LOCK.read_text() + "# changed\n")
    monkeypatch.setattr(course, "LOCK", lock)
    assert course.wanted_stamp() != course.STAMP.read_text()


def test_unknown_command_is_explained():
    done = subprocess.run([sys.executable, "course.py", "serve"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "Unknown command 'serve'" in done.stdout


@pytest.mark.servers
@pytest.mark.skipif(os.name == "nt", reason="POSIX process groups")
def test_start_opens_jupyterlab_on_the_course_folder(tmp_path):
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        lab = subprocess.Popen(
            [sys.executable, "course.py", "start", "--no-browser", "--ServerApp.port=0",
             "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=test-token"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline and lab.poll() is None:
            time.sleep(0.2)
            url = re.search(r"http://127\.0\.0\.1:\d+/", log.read_text())
        assert url, f"JupyterLab did not start:\n{log.read_text()[-2000:]}"
        headers = {"Authorization": "token test-token"}
        for path in ("notebooks/00-welcome.ipynb", "labs/00-welcome.ipynb", "solutions"):
            answer = requests.get(f"{url[0]}api/contents/{path}?content=0", headers=headers, timeout=10)
            assert answer.status_code == 200, f"{path} is not visible in JupyterLab"
        home = requests.get(url[0], headers=headers, allow_redirects=False, timeout=10)
        assert home.headers["Location"].rstrip("?").endswith("/lab/tree/notebooks/00-welcome.ipynb")
        assert requests.get(url[0] + "lab", headers=headers, timeout=10).status_code == 200
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()
