"""Kill a kernel's servers when the kernel dies without cleaning up (nbval kills it at once).

Run by coursekit.servers as `watchdog.py KERNEL_PID` (the pid is there for doctor() to read) in a
separate process. It reads "add PID" / "del PID" lines on stdin;
when stdin closes, the kernel is gone (the OS closed its end of the pipe), so it kills every
process group still on its list. Standard library only, so it starts fast.
"""
import os
import signal
import subprocess
import sys
import time


def kill_group(pid):
    if os.name == "nt":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(pid)], capture_output=True, check=False)
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def main():
    if os.name != "nt":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    groups = set()
    for line in sys.stdin.buffer:
        action, _, pid = line.decode().strip().partition(" ")
        if action == "add":
            groups.add(int(pid))
        elif action == "del":
            groups.discard(int(pid))
    for pid in groups:  # end of input: the kernel has exited
        kill_group(pid)


if __name__ == "__main__":
    main()
