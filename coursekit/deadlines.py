"""Deadlines that a student's code cannot swallow: a check never hangs, whatever the answer does.

`deadline(seconds)` interrupts the block with TimeLimit, a BaseException, so `except Exception:`
in a student's retry loop lets it through; if a bare `except:` swallows it anyway, it fires again
every REARM seconds until the block ends. Deadlines nest: the inner one never cancels the outer.
"""
import signal
import threading
import time
from contextlib import contextmanager

REARM = 0.2  # seconds between repeated interruptions of code that swallowed the first one


class TimeLimit(BaseException):
    """A deadline passed. A BaseException, like KeyboardInterrupt, so `except Exception` misses it."""

    def __init__(self, seconds):
        super().__init__(f"no result within {seconds:g} s")
        self.seconds = seconds


def usable():
    """Deadlines need SIGALRM (POSIX) and the main thread, where signal handlers run."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def deadline(seconds):
    """Interrupt the block with TimeLimit after `seconds` (an endless loop, a blocking call)."""
    if not usable():
        yield
        return
    started = time.monotonic()
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)  # 0 when no deadline is running
    mine = seconds if not outer_left else min(seconds, outer_left)
    outer_is_sooner = bool(outer_left) and outer_left <= seconds
    fired = []

    def interrupt(signum, frame):
        fired.append(time.monotonic())
        signal.setitimer(signal.ITIMER_REAL, REARM)  # in case the student's code swallows it
        raise TimeLimit(outer_left if outer_is_sooner else seconds)

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, mine)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:  # give the outer deadline what is left of its time (at least a moment)
            left = outer_left - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
