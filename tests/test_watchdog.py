"""The watchdog and its stop function: zombies count as gone, logs stay small, orders from stdin."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from coursekit import watchdog
from coursekit.watchdog import LOG_CAP, LOG_DROPPED, LOG_KEEP, cap_log, stop_servers

pytestmark = [pytest.mark.servers, pytest.mark.skipif(os.name == "nt", reason="POSIX signals")]
IGNORES_SIGTERM = ("import signal, threading; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                   "print('ready', flush=True); threading.Event().wait()")


def started(code, **options):
    """A process in a session of its own, once it has said 'ready' (its signal handlers are set)."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            start_new_session=True, **options)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def test_a_zombie_counts_as_stopped():
    # Nobody reaps this child until the end (as in a container whose init never reaps orphans).
    child = started("import threading; print('ready', flush=True); threading.Event().wait()")
    try:
        began = time.monotonic()
        assert stop_servers([(child.pid, None)], grace=30) == []
        assert time.monotonic() - began < 10, "waited for a zombie as if it were alive"
        assert psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE
    finally:
        child.wait()
        child.stdout.close()


MAIN_THREAD_EXITS_FIRST = """
import ctypes, sys, threading
def wait_for_a_line():
    sys.stdin.readline()
threading.Thread(target=wait_for_a_line).start()
print("ready", flush=True)
ctypes.CDLL(None).pthread_exit(None)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's zombie main thread")
def test_a_zombie_whose_other_threads_still_run_counts_as_alive():
    """Linux shows a process whose main thread has exited as a zombie; its other threads (and the
    sockets they hold) are still there until they exit too."""
    proc = started(MAIN_THREAD_EXITS_FIRST, stdin=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.01)
        assert psutil.Process(proc.pid).status() == psutil.STATUS_ZOMBIE
        assert watchdog.alive(psutil.Process(proc.pid))
        proc.stdin.write("go\n")
        proc.stdin.flush()
        proc.wait(30)  # the whole process has exited, and is reaped
    finally:
        proc.kill()
        proc.wait()
        proc.stdin.close()
        proc.stdout.close()


def test_stop_servers_reaches_a_child_that_left_the_group_and_forces_what_ignores_sigterm():
    env = dict(os.environ, **{watchdog.TOKEN: "token-under-test"})
    leader = started(IGNORES_SIGTERM, env=env)
    escaped = started(IGNORES_SIGTERM, env=env)  # its own session, not the leader's child
    try:
        assert stop_servers([(leader.pid, "token-under-test")], grace=0.5) == []
        assert leader.wait(30) == -signal.SIGKILL and escaped.wait(30) == -signal.SIGKILL
    finally:
        for proc in (leader, escaped):
            proc.kill()
            proc.wait()
            proc.stdout.close()


def test_a_capped_log_keeps_its_newest_whole_lines(tmp_path):
    log = tmp_path / "chatty.log"
    log.write_bytes(b"".join(b"line %07d\n" % n for n in range(LOG_CAP // 13 + 1000)))
    cap_log(log)
    text = log.read_text()
    assert text.startswith(LOG_DROPPED) and len(text) <= LOG_KEEP + len(LOG_DROPPED)
    assert text.splitlines()[1].startswith("line ") and len(text.splitlines()[1]) == 12
    assert text.endswith("line %07d\n" % (LOG_CAP // 13 + 999))
    cap_log(log)  # under the cap: left alone
    assert log.read_text() == text


def test_when_its_input_closes_the_watchdog_stops_every_server_at_once(tmp_path):
    polite = [started("import threading; print('ready', flush=True); threading.Event().wait()")
              for _ in range(3)]
    stubborn = started(IGNORES_SIGTERM)
    guard = subprocess.Popen([sys.executable, str(Path(watchdog.__file__)), str(os.getpid())],
                             stdin=subprocess.PIPE)
    try:
        for proc in polite + [stubborn]:
            guard.stdin.write(f"add {proc.pid} - {tmp_path / 'a log.log'}\n".encode())
        guard.stdin.write(f"del {polite[0].pid}\n".encode())
        guard.stdin.close()  # what the OS does when the kernel dies
        assert guard.wait(30) == 0
        assert polite[0].poll() is None, "a server the kernel stopped itself is not the watchdog's"
        assert all(p.poll() is not None for p in polite[1:] + [stubborn])
    finally:
        for proc in polite + [stubborn]:
            proc.kill()
            proc.wait()
            proc.stdout.close()
        guard.kill()
        guard.wait()
