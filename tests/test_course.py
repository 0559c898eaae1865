"""course.py: set-up is idempotent, and `start` serves the whole course with lesson 00 first."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import course  # noqa: E402


def test_second_setup_installs_nothing(monkeypatch):
    """The suite itself runs after a set-up, so the stamp is current and nothing may be run;
    `start` (the student lock) on this maintainer .venv keeps what it has."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"set-up ran {args} although nothing changed")

    monkeypatch.setattr(course, "run", refuse)
    monkeypatch.setattr(course, "installer", refuse)
    assert course.installed_level() == "maintainer"
    course.setup("maintainer")
    course.setup("student")


def test_changed_lock_means_a_new_install(monkeypatch, tmp_path):
    """A change to the student lock reinstalls a maintainer .venv too: it holds the student pins."""
    lock = tmp_path / "requirements.txt"
    lock.write_text(course.LOCK.read_text() + "# changed\n")
    monkeypatch.setitem(course.LOCKS, "student", lock)
    assert course.wanted_stamp("maintainer") != course.STAMP.read_text()


class FakeInstall:
    """course.setup() with the installing stubbed out: which lock each set-up installed."""

    def __init__(self, monkeypatch, stamp):
        self.installed = []
        monkeypatch.setattr(course, "STAMP", stamp)
        monkeypatch.setattr(course, "installer", self.installer)
        monkeypatch.setattr(course, "compile_bytecode", lambda py: None)
        monkeypatch.setattr(course, "run", self.run)

    @staticmethod
    @__import__("contextlib").contextmanager
    def installer():
        yield "scratch-python"

    def run(self, *args, **kwargs):
        if "uv" in args:
            self.installed.append(Path(args[args.index("-r") + 1]).name)

    def setup(self, need):
        self.installed.clear()
        course.setup(need)
        return self.installed


def test_a_student_venv_upgrades_for_the_tests_and_keeps_them_after(monkeypatch, tmp_path):
    stamp = tmp_path / "course-installed.txt"
    fake = FakeInstall(monkeypatch, stamp)
    assert fake.setup("student") == ["requirements.txt"]  # a fresh `start`
    assert course.installed_level() == "student" and fake.setup("student") == []
    assert fake.setup("maintainer") == ["requirements-maintainer.txt"]  # then `test`
    assert course.installed_level() == "maintainer"
    assert fake.setup("student") == [], "`start` after `test` must keep the maintainer packages"
    stamp.write_text("0123abcd python-3.11 root-/x\n")  # a .venv stamped before the split
    assert fake.setup("student") == ["requirements.txt"]


def test_each_command_installs_the_lock_it_needs():
    """Commands that run the tests, nbval or the slide builder need the maintainer lock; what
    students and instructors run in class needs only the student lock."""
    commands = set(re.findall(r"^    python3 course\.py (\w+)", course.__doc__, re.M))
    assert commands == set(course.NEEDS) | {"reset", "update", "lock", "link"}
    maintainer = {name for name, level in course.NEEDS.items() if level == "maintainer"}
    assert maintainer == {"test", "refresh", "repeat", "bench", "slides", "capacity"}
    assert set(course.LOCKS) == {"student", "maintainer"} and list(course.LOCKS)[0] == "student"


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
        for path in ("notebooks/00-welcome.ipynb", "my-labs/00-lab-welcome.ipynb", "solutions"):
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


# --- Starting and stopping in a terminal -------------------------------------------------------

TOKEN = "course-start-test"
IN_TERMINAL = (  # make the pseudo-terminal our controlling terminal, as a shell would, then run
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.argv[1], sys.argv[1:])")


class Terminal:
    """`python3 course.py start` in a pseudo-terminal: type keys, read the screen."""

    def __init__(self, *args):
        import pty
        import threading

        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-c", IN_TERMINAL, sys.executable, "course.py", "start", *args],
            cwd=ROOT, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
        os.close(slave)
        self.screen = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the other side closed
                return
            if not data:
                return
            self.screen += data

    def text(self):
        return self.screen.decode("utf-8", "replace")

    def type(self, keys):
        os.write(self.master, keys)

    def wait_for(self, pattern, seconds=60, start=0):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text()[start:])
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} did not appear. The terminal shows:\n{self.text()[-3000:]}")

    def close(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.reader.join(10)
        os.close(self.master)


def serving(url, log, seconds=60):
    """Wait until the JupyterLab at url answers; fail with its log if it never does."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url + "api/status", headers={"Authorization": f"token {TOKEN}"},
                            timeout=10).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"JupyterLab at {url} never answered:\n{log()}"
        time.sleep(0.2)


@pytest.fixture
def terminal(tmp_path):
    """JupyterLab started by course.py in a terminal, with one kernel that runs one server."""
    from kernel_client import KernelClient

    term = Terminal("--no-browser", "--ServerApp.port=0", "--ServerApp.ip=127.0.0.1",
                    f"--IdentityProvider.token={TOKEN}", "--KernelManager.transport=ipc",
                    f"--ServerApp.runtime_dir={tmp_path / 'rt'}")
    try:
        term.url = term.wait_for(r"http://127\.0\.0\.1:\d+/", seconds=120)[0]
        serving(term.url, lambda: term.text()[-3000:])
        (tmp_path / "hello.py").write_text((ROOT / "tests" / "apps" / "hello_wsgi.py").read_text())
        term.kernel = KernelClient(term.url, "notebooks/00-welcome.ipynb", TOKEN)
        out, error = term.kernel.run(
            "import os\nfrom coursekit import launch\n"
            f"server = launch({str(tmp_path / 'hello.py')!r}, kind='wsgiref', quiet=True)\n"
            "print('server port', server.port, 'kernel pid', os.getpid())")
        assert error is None, error
        found = re.search(r"server port (\d+) kernel pid (\d+)", out)
        assert found, f"the kernel printed {out!r}"
        term.server_port, term.kernel_pid = int(found[1]), int(found[2])
        yield term
    finally:
        term.close()


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def stopped_everything(term, seconds=30):
    """course.py exited without a traceback, and the kernel and its server are gone."""
    code = term.process.wait(seconds)
    deadline = time.monotonic() + 10  # the kernel's watchdog needs a moment
    while (listening(term.server_port) or psutil.pid_exists(term.kernel_pid)) and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Traceback" not in term.text(), term.text()[-3000:]
    assert not listening(term.server_port), "the kernel's server still listens"
    assert not psutil.pid_exists(term.kernel_pid) or \
        psutil.Process(term.kernel_pid).status() == psutil.STATUS_ZOMBIE, "the kernel still runs"
    return code


@pytest.mark.servers
@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals are POSIX")
def test_one_ctrl_c_lets_jupyterlab_ask_and_two_stop_it(terminal):
    terminal.type(b"\x03")
    terminal.wait_for(r"Shut down this Jupyter server")
    # No answer: JupyterLab carries on after 5 s, and so do the course's kernel and server.
    terminal.wait_for(r"resuming operation", seconds=20)
    assert requests.get(terminal.url + "api/status", timeout=10,
                        headers={"Authorization": f"token {TOKEN}"}).status_code == 200
    assert listening(terminal.server_port)

    mark = len(terminal.text())
    terminal.type(b"\x03")
    terminal.wait_for(r"Shut down this Jupyter server", start=mark)
    terminal.type(b"\x03")  # the second Ctrl+C: stop now
    assert stopped_everything(terminal) == 0, terminal.text()[-3000:]


@pytest.mark.servers
@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals are POSIX")
def test_answering_yes_shuts_jupyterlab_down_its_own_way(terminal):
    terminal.type(b"\x03")
    terminal.wait_for(r"Shut down this Jupyter server")
    terminal.type(b"y\r")
    terminal.wait_for(r"Shutdown confirmed")
    assert stopped_everything(terminal) == 0


@pytest.mark.servers
@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_interrupt_without_a_terminal_stops_jupyterlab(tmp_path):
    """kill -INT (no terminal involved) reaches course.py only: it passes it on, once."""
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        lab = subprocess.Popen(
            [sys.executable, "course.py", "start", "--no-browser", "--ServerApp.port=0",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}"],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not re.search(r"http://127\.0\.0\.1:\d+/", log.read_text()):
            assert time.monotonic() < deadline and lab.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        # It prints its address a moment before it handles signals: wait until it serves.
        serving(re.search(r"http://127\.0\.0\.1:\d+/", log.read_text())[0],
                lambda: log.read_text()[-3000:])
        children = psutil.Process(lab.pid).children(recursive=True)
        lab.send_signal(signal.SIGINT)
        assert lab.wait(30) == 0, log.read_text()[-3000:]
        assert "Traceback" not in log.read_text(), log.read_text()[-3000:]
        gone, alive = psutil.wait_procs(children, timeout=10)
        assert not alive, f"still running: {alive}"
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait()


# --- Students' work and course updates -------------------------------------------------------

def git(folder, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid")
    return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                          env=env, timeout=60)


def lab_text(path):
    return Path(path).read_text()


@pytest.fixture
def course_repo(tmp_path):
    """An instructor's repository (bare, as on a git host) made from this course's files."""
    source = tmp_path / "instructor"
    for name in ("course.py", ".gitignore"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes((ROOT / name).read_bytes())
    for folder in ("labs", "notebooks"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("apps"))
    assert git(source, "init", "-q", "-b", "main").returncode == 0
    git(source, "add", "-A")
    assert git(source, "commit", "-qm", "course").returncode == 0
    bare = tmp_path / "course.git"
    assert git(tmp_path, "clone", "-q", "--bare", str(source), str(bare)).returncode == 0
    git(source, "remote", "add", "origin", str(bare))
    return source, bare


def test_a_students_lab_work_survives_a_course_update(course_repo, tmp_path):
    instructor, bare = course_repo
    student = tmp_path / "student"
    assert git(tmp_path, "clone", "-q", str(bare), str(student)).returncode == 0
    course.copy_labs(student)  # what `course.py start` does first
    mine = student / "my-labs" / "04-lab-asgi-by-hand.ipynb"
    mine.write_text(lab_text(mine).replace("...", "answer = 42  # my work", 1))
    (student / "my-labs" / "apps").mkdir()
    (student / "my-labs" / "apps" / "lab04_app.py").write_text("# my server\n")
    assert git(student, "status", "--porcelain").stdout == "", "the student's work shows up in git"

    # The instructor fixes lab 04 and adds lab 05, and pushes.
    fixed = instructor / "labs" / "04-lab-asgi-by-hand.ipynb"
    fixed.write_text(lab_text(fixed).replace("Exercise 4.1", "Exercise 4.1 (updated)", 1))
    shutil.copy(fixed, instructor / "labs" / "05-lab-new.ipynb")
    git(instructor, "add", "-A")
    assert git(instructor, "commit", "-qm", "update lab 04, add lab 05").returncode == 0
    assert git(instructor, "push", "-q", "origin", "main").returncode == 0

    pulled = git(student, "pull", "-q", "--ff-only")
    assert pulled.returncode == 0, pulled.stderr
    assert "Exercise 4.1 (updated)" in lab_text(student / "labs" / "04-lab-asgi-by-hand.ipynb")
    assert "answer = 42  # my work" in lab_text(mine)
    assert (student / "my-labs" / "apps" / "lab04_app.py").read_text() == "# my server\n"

    # The next start gives the student the new lab and leaves their own copies alone.
    assert course.copy_labs(student) == [student / "my-labs" / "05-lab-new.ipynb"]
    assert "answer = 42  # my work" in lab_text(mine)

    # reset: a fresh copy of the updated lab, the student's work kept beside it.
    done = subprocess.run([sys.executable, str(student / "course.py"), "reset", "labs/04"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert lab_text(mine) == lab_text(student / "labs" / "04-lab-asgi-by-hand.ipynb")
    kept = list((student / "my-labs").glob("04-lab-asgi-by-hand.before-reset-*.ipynb"))
    assert len(kept) == 1 and "answer = 42  # my work" in lab_text(kept[0])
    assert str(kept[0].relative_to(student)) in done.stdout


def test_work_in_the_tracked_labs_would_block_the_update(course_repo, tmp_path):
    """Why the copies exist: an answer saved in labs/ itself stops `git pull` of a lab update."""
    instructor, bare = course_repo
    student = tmp_path / "student"
    git(tmp_path, "clone", "-q", str(bare), str(student))
    tracked = student / "labs" / "04-lab-asgi-by-hand.ipynb"
    tracked.write_text(lab_text(tracked).replace("...", "answer = 42", 1))
    fixed = instructor / "labs" / "04-lab-asgi-by-hand.ipynb"
    fixed.write_text(lab_text(fixed).replace("Exercise 4.1", "Exercise 4.1 (updated)", 1))
    git(instructor, "commit", "-qam", "update lab 04")
    git(instructor, "push", "-q", "origin", "main")
    pulled = git(student, "pull", "-q", "--ff-only")
    assert pulled.returncode != 0 and "would be overwritten" in pulled.stderr


def test_update_keeps_a_saved_lesson_and_pulls(course_repo, tmp_path):
    """JupyterLab saves lessons with their outputs; `course.py update` keeps that copy and pulls."""
    instructor, bare = course_repo
    student = tmp_path / "student"
    git(tmp_path, "clone", "-q", str(bare), str(student))
    lesson = "notebooks/04-asgi-by-hand.ipynb"
    (student / lesson).write_text(lab_text(student / lesson).replace("ASGI", "ASGI (my notes)", 1))
    (instructor / lesson).write_text(lab_text(instructor / lesson).replace("ASGI", "ASGI (fixed)", 1))
    git(instructor, "commit", "-qam", "fix lesson 04")
    git(instructor, "push", "-q", "origin", "main")
    assert git(student, "pull", "-q", "--ff-only").returncode != 0  # plain git pull refuses

    done = subprocess.run([sys.executable, str(student / "course.py"), "update"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ASGI (fixed)" in lab_text(student / lesson)
    saved = list((student / "my-labs").glob("saved-*/" + lesson))
    assert len(saved) == 1 and "ASGI (my notes)" in lab_text(saved[0])
    assert git(student, "status", "--porcelain").stdout == ""


def test_reset_twice_keeps_every_old_copy(tmp_path):
    (tmp_path / "labs").mkdir()
    (tmp_path / "labs" / "04-lab-asgi-by-hand.ipynb").write_text("fresh")
    course.copy_labs(tmp_path)
    mine = tmp_path / "my-labs" / "04-lab-asgi-by-hand.ipynb"
    for attempt in ("first try", "second try"):
        mine.write_text(attempt)
        course.reset("labs/04-lab-asgi-by-hand.ipynb", root=tmp_path)
        assert mine.read_text() == "fresh"
    kept = sorted(p.read_text() for p in mine.parent.glob("*.before-reset-*.ipynb"))
    assert kept == ["first try", "second try"]


def test_reset_names_the_labs_when_asked_for_one_that_does_not_exist(tmp_path):
    done = subprocess.run([sys.executable, "course.py", "reset", "labs/99"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "There is no lab 'labs/99'" in done.stderr
    assert "labs/04" in done.stderr


HANGS_ON_CTRL_C = [sys.executable, "-c",  # a JupyterLab that never finishes shutting down
                   "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(120)"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("presses, grace", [(3, 60), (2, 1)], ids=["third Ctrl+C", "grace over"])
def test_a_jupyterlab_that_hangs_is_ended_anyway(presses, grace, monkeypatch):
    import threading

    monkeypatch.setattr(course, "STOP_GRACE_SECONDS", grace)

    def press():
        time.sleep(1)
        for _ in range(presses):
            os.kill(os.getpid(), signal.SIGINT)  # as a terminal's Ctrl+C reaches course.py
            time.sleep(0.2)

    threading.Thread(target=press, daemon=True).start()
    started = time.monotonic()
    assert course.serve(HANGS_ON_CTRL_C) == 1
    assert time.monotonic() - started < 15
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_a_copy_made_under_the_old_lab_name_is_renamed_not_duplicated(tmp_path):
    (tmp_path / "labs").mkdir()
    (tmp_path / "labs" / "04-lab-asgi-by-hand.ipynb").write_text("fresh")
    (tmp_path / "my-labs").mkdir()
    (tmp_path / "my-labs" / "04-asgi-by-hand.ipynb").write_text("my work")
    assert course.copy_labs(tmp_path) == []
    assert sorted(p.name for p in (tmp_path / "my-labs").iterdir()) == ["04-lab-asgi-by-hand.ipynb"]
    assert (tmp_path / "my-labs" / "04-lab-asgi-by-hand.ipynb").read_text() == "my work"
