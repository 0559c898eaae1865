"""Stop a kernel's servers when the kernel dies without cleaning up, and keep their logs small.

Run by coursekit.servers as `watchdog.py KERNEL_PID` (the pid is there for doctor() to read) in a
process of its own. It reads "add PID TOKEN LOG" / "del PID" lines on stdin; when stdin closes, the
kernel is gone (the OS closed its end of the pipe), so it stops every server still on its list, all
at once. `stop_servers()` is also what a server handle's stop() uses: one way to stop a server.
"""
import os
import signal
import sys
import threading
import time

import psutil

TOKEN = "COURSEKIT_SERVER_ID"  # every process of a server inherits this from its environment
LOG_CAP = 4_000_000  # bytes a log may reach before its oldest lines are dropped
LOG_KEEP = 1_000_000  # bytes of its newest lines kept when that happens
LOG_DROPPED = "[coursekit: older lines of this log were dropped; it is capped at 4 MB]\n"
KILL_SECONDS = 10  # after SIGKILL, the wait for every thread to exit (quick, unless the host is busy)


def alive(proc):
    """Does any thread of this process still run? A zombie has exited: only its parent's bookkeeping
    is left (and may never be done). But Linux shows a process as a zombie as soon as its main
    thread has exited, while its other threads may still be exiting and holding its sockets."""
    try:
        if proc.status() != psutil.STATUS_ZOMBIE:
            return True
    except psutil.Error:
        return False
    return threads_running(proc.pid)


def threads_running(pid):
    """True while a thread of `pid` other than an exited one is left (Linux; elsewhere, False)."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/stat", "rb") as f:
                state = f.read().rpartition(b")")[2].split()[0]  # the field after "(name)"
        except (OSError, IndexError):
            continue  # that thread has just gone
        if state not in (b"Z", b"X"):
            return True
    return False


def members(leaders, tokens):
    """Every process of these servers: each leader, its descendants, its process group, and any
    process whose environment carries a server's token (children that left the group or tree)."""
    found = {}
    for proc in psutil.process_iter(["environ"] if tokens else None):
        try:
            if proc.pid in leaders or (os.name != "nt" and os.getpgid(proc.pid) in leaders):
                found[proc.pid] = proc
            elif tokens and (proc.info.get("environ") or {}).get(TOKEN) in tokens:
                found[proc.pid] = proc
        except (psutil.Error, OSError):
            pass
    return add_descendants(found)


def add_descendants(found):
    for proc in list(found.values()):
        try:
            found.update((child.pid, child) for child in proc.children(recursive=True))
        except psutil.Error:
            pass
    return found


def stop_servers(servers, grace=3.0):
    """Stop servers given as (leader pid, token) pairs, all at once: SIGTERM to every process of
    each, SIGKILL to whatever is left after `grace` seconds. Returns the processes still alive."""
    if not servers:
        return []
    leaders, tokens = {pid for pid, _ in servers}, {token for _, token in servers if token}
    found = members(leaders, tokens)
    for deadline, hard in ((grace, False), (KILL_SECONDS, True)):
        for proc in list(found.values()):
            try:
                proc.kill() if hard else proc.terminate()
            except psutil.Error:
                pass
        end = time.monotonic() + deadline
        pause = 0.005
        while time.monotonic() < end:
            found = {pid: p for pid, p in add_descendants(found).items() if alive(p)}
            if not found:
                found = {pid: p for pid, p in members(leaders, tokens).items() if alive(p)}
                if not found:  # confirmed: nothing of these servers runs any more
                    return []
            time.sleep(pause)
            pause = min(pause * 2, 0.05)
    return list(found.values())


def cap_log(path):
    """Keep a log under LOG_CAP: once over it, keep only its newest LOG_KEEP bytes."""
    try:
        if os.path.getsize(path) <= LOG_CAP:
            return
        with open(path, "rb+") as f:
            f.seek(-LOG_KEEP, os.SEEK_END)
            f.readline()  # start at a whole line
            newest = f.read()
            f.truncate(0)  # the server appends (O_APPEND), so it writes after whatever we leave
            f.seek(0)
            f.write(LOG_DROPPED.encode() + newest)
    except OSError:
        pass


def main():
    if os.name != "nt":
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a kernel interrupt is not meant for us
    servers = {}  # leader pid -> (token, log path)
    kernel_gone = threading.Event()

    def read_orders():
        for line in sys.stdin.buffer:
            action, _, rest = line.decode().rstrip("\n").partition(" ")
            if action == "add":
                pid, token, log = rest.split(" ", 2)
                servers[int(pid)] = (token, log)
            elif action == "del":
                servers.pop(int(rest), None)
        kernel_gone.set()

    threading.Thread(target=read_orders, daemon=True).start()
    while not kernel_gone.wait(0.1):
        for _, log in list(servers.values()):
            cap_log(log)
    stop_servers([(pid, token) for pid, (token, _) in servers.items()], grace=2.0)


if __name__ == "__main__":
    main()
