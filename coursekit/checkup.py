"""`doctor()`: check that this environment can run the course, and say how to fix what cannot."""
import os
import re
import socket
import sys
from importlib import metadata
from pathlib import Path

import psutil

from coursekit.urls import proxied
from coursekit.watchdog import stop_servers

COURSE = Path(__file__).resolve().parent.parent
STUDENT_LOCK = "requirements.txt"  # course.py writes the lock it installed into the stamp below


def installed_lock(course=COURSE, prefix=sys.prefix):
    """The lock this environment was installed from: the one named in .venv's stamp
    (course-installed.txt), else the student lock (conda, Binder, a plain pip install)."""
    stamp = Path(prefix) / "course-installed.txt"
    words = stamp.read_text().split() if stamp.exists() else []
    if words and words[0].startswith("requirements") and (course / words[0]).is_file():
        return course / words[0]
    return course / STUDENT_LOCK


def pinned_packages(lock=None):
    """(name, version) for each package of the lock this environment was installed from that
    applies on this machine (its marker, such as sys_platform == 'win32', holds here)."""
    from packaging.markers import Marker

    lock = lock or installed_lock()
    if not lock.exists():
        return []
    pairs = []
    for line in lock.read_text().splitlines():
        pin, _, marker = line.split("#")[0].partition(";")
        if "==" in pin and (not marker.strip() or Marker(marker).evaluate()):
            name, version = pin.split("==")
            pairs.append((name.strip(), version.strip()))
    return pairs


def canonical(name):
    """A package name as pip compares them: Typing_Extensions, typing.extensions -> typing-extensions."""
    return re.sub(r"[-_.]+", "-", name).lower()


def guarded_kernels():
    """Kernels whose watchdog is still alive: it will stop their servers, so they are not stale."""
    kernels = set()
    for proc in psutil.process_iter(["cmdline"]):
        command = proc.info.get("cmdline") or []
        if len(command) == 3 and command[1].endswith("watchdog.py") and command[2].isdigit():
            kernels.add(int(command[2]))
    return kernels


def stale_servers(course=COURSE):
    """Servers of this course (run from a folder inside it) that nothing will ever stop: their
    kernel is gone and so is its watchdog. Each is (pid, name)."""
    guarded, stale = guarded_kernels(), []
    for proc in psutil.process_iter(["pid", "environ", "cwd"]):
        env = proc.info.get("environ") or {}
        kernel = env.get("COURSEKIT_KERNEL_PID")
        if not (kernel and env.get("COURSEKIT_SERVER")) or psutil.pid_exists(int(kernel)):
            continue
        if int(kernel) in guarded or not Path(proc.info["cwd"] or "/").is_relative_to(course):
            continue
        if os.name != "nt" and proc.info["pid"] != os.getpgid(proc.info["pid"]):
            continue  # a worker: stopping its group leader stops it too
        stale.append((proc.info["pid"], env["COURSEKIT_SERVER"]))
    return stale


def problems(fix=False, course=COURSE):
    """A list of (ok, message) lines about this environment."""
    lines = []
    if sys.version_info >= (3, 11):
        lines.append((True, "Python is 3.11 or newer."))
    else:
        lines.append((False, f"Python {sys.version.split()[0]} is too old: the course needs 3.11 or "
                             "newer. Install it, then run `python3 course.py start` again."))
    wrong = []
    have = {canonical(dist.metadata["Name"] or ""): dist.version for dist in metadata.distributions()}
    for name, version in pinned_packages():
        installed = have.get(canonical(name))
        if installed is None:
            wrong.append(f"{name} is missing")
        elif installed != version:
            wrong.append(f"{name} is {installed}, the course pins {version}")
    if wrong:
        lines.append((False, "Packages differ from the course's pins: " + "; ".join(wrong)
                      + ". Fix: run `python3 course.py start` from the course folder, and pick the "
                        "'Python 3 (web course)' kernel."))
    else:
        lines.append((True, "Every pinned package is installed at its pinned version."))
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
        lines.append((True, "A server can listen on 127.0.0.1."))
    except OSError as error:
        lines.append((False, f"Cannot listen on 127.0.0.1 ({error}). Servers cannot run here; "
                             "ask your instructor (a firewall or sandbox may forbid it)."))
    stale = stale_servers(course)
    if stale and fix:
        stop_servers([(pid, None) for pid, _ in stale])  # children that left are stale too
        lines.append((True, f"Stopped {len(stale)} server(s) left behind by an earlier kernel."))
    elif stale:
        names = ", ".join(sorted(name for _, name in stale))
        lines.append((False, f"Servers left behind by an earlier kernel are still running: {names}. "
                             "Fix: run doctor(fix=True) to stop them."))
    else:
        lines.append((True, "No server is left behind by an earlier kernel."))
    through_proxy, why = proxied()
    if through_proxy:
        lines.append((True, f"Server links open through jupyter-server-proxy (.../proxy/PORT/): {why}."))
    elif os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        lines.append((False, f"Your browser cannot reach the servers: {why}. Ask your instructor "
                             "to install jupyter-server-proxy."))
    else:
        lines.append((True, f"Server links open directly at http://127.0.0.1:PORT/: {why}."))
    return lines


def doctor(fix=False, course=COURSE):
    """Print what is right and what is wrong with this environment, with a fix for each problem."""
    lines = problems(fix, course)
    for ok, message in lines:
        print(f"{'✔' if ok else '✘'} {message}")
    bad = sum(not ok for ok, _ in lines)
    print("All good: you are ready for the course." if not bad else
          f"{bad} problem(s) above. Fix them, then run doctor() again.")
