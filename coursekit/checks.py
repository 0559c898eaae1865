"""Self-checking labs: `check("N.M", ...)` runs exercise N.M's checks and reports in plain words.

Each exercise lives in coursekit/labs/labNN.py as a function of a `Checks` object. For every
part it says what was expected and what came back, with a hint; tracebacks from the student's
code come after that; one result line comes last. Every part runs under a deadline.
"""
import importlib
import json
import os
import signal
import sysconfig
import threading
import traceback
from contextlib import contextmanager
from pathlib import Path

import requests

from coursekit.explain import connection_problem
from coursekit.servers import ServerError, launch, log_tail

EXERCISES = {}  # "0.1" -> function(checks, *student_objects)
PART_SECONDS = 10
LOG_LINES = 12
HERE = Path(__file__).resolve().parent


def exercise(number):
    """Register a function as the checks of exercise `number` (used in coursekit/labs/)."""
    def register(function):
        EXERCISES[number] = function
        return function
    return register


class CheckFailed(AssertionError):
    """One part of an exercise did not behave as expected."""

    def __init__(self, expected, got):
        super().__init__(f"expected {expected}, got {got}")
        self.expected, self.got = expected, got


class StopExercise(Exception):
    """A part that the others need failed; the remaining parts cannot run."""


class TimeLimit(Exception):
    pass


@contextmanager
def deadline(seconds):
    """Interrupt the block after `seconds` (an infinite loop in a student's function, say)."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def interrupt(signum, frame):
        raise TimeLimit()

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Checks:
    """Runs the parts of one exercise and remembers what passed and what did not."""

    def __init__(self, number):
        self.number = number
        self.results = []  # (description, passed, lines explaining a failure)
        self.tracebacks = []
        self.servers = []

    @contextmanager
    def part(self, description, hint="", seconds=PART_SECONDS):
        """One check: the block passes unless it raises; a failure is explained, never fatal."""
        problem = None
        try:
            with deadline(seconds):
                yield
        except CheckFailed as failed:
            problem = [f"expected: {failed.expected}", f"got:      {failed.got}"]
        except TimeLimit:
            problem = [f"no result within {seconds} s: is there an endless loop, or a request "
                       "that never gets an answer?"]
        except StopExercise:
            raise
        except (requests.RequestException, ConnectionError, TimeoutError) as error:
            problem = [connection_problem(error)]  # words, not the client library's exception
        except Exception as error:  # the student's code raised: say so, keep the traceback for last
            problem = [f"your code raised {type(error).__name__}: {error}"]
            self.tracebacks.append((description, error))
        if problem and hint:
            problem.append(f"hint: {hint}")
        self.results.append((description, problem is None, problem or []))

    def expect(self, condition, expected, got):
        if not condition:
            raise CheckFailed(expected, got)

    def equal(self, got, expected):
        self.expect(got == expected, repr(expected), repr(got))

    def answered(self, value, name):
        """Stop early, with a plain message, if the student has not written `name` yet."""
        with self.part(f"{name} is written", hint=f"Replace the ... in the cell that defines {name}."):
            self.expect(value is not ... and value is not None, f"{name} to be written", "...")
        if not self.results[-1][1]:
            raise StopExercise()

    def launch(self, path, kind, **options):
        """Start the student's server for the remaining parts; stop the exercise if it fails."""
        with self.part(f"{path} starts and answers",
                       hint="Run the %%writefile cell above first; the log below shows what went wrong."):
            try:
                server = launch(path, kind, name=f"check-{Path(path).stem}", timeout=10,
                                quiet=True, **options)
            except ServerError as error:
                raise CheckFailed("a server that starts and answers", str(error)) from None
            self.servers.append(server)
        if not self.results[-1][1]:
            raise StopExercise()
        return server

    def stop_servers(self):
        for server in self.servers:
            server.stop()

    @property
    def passed(self):
        return sum(ok for _, ok, _ in self.results)

    def report(self):
        """The feedback a student reads: parts, hints, tracebacks, then one result line."""
        lines = [f"Exercise {self.number}"]
        for description, ok, problem in self.results:
            lines.append(f"  {'✔' if ok else '✘'} {description}")
            lines.extend(f"      {line}" for line in problem)
        for description, error in self.tracebacks:
            lines.append(f"\nWhere your code raised ({description}):")
            lines.append(student_traceback(error))
        if self.passed < len(self.results):
            for server in self.servers:  # a failing server's own words are the best clue
                tail = log_tail(server.log_path, LOG_LINES)
                if tail:
                    lines.append(f"\nThe end of your server's log ({server.log_path}):\n{tail}")
        total = len(self.results)
        if total and self.passed == total:
            lines.append(f"✅ Exercise {self.number}: all {total} checks passed.")
        else:
            lines.append(f"❌ Exercise {self.number}: {self.passed} of {total} checks passed. "
                         "Change your code and run the check again.")
        return "\n".join(lines)


def student_traceback(error):
    """A traceback of the student's own frames: the toolkit's, the standard library's and
    installed packages' frames are left out, so the student's line stands out."""
    hidden = (str(HERE), sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], "<frozen")
    exc = traceback.TracebackException.from_exception(error)
    exc.stack = traceback.StackSummary.from_list(
        [frame for frame in exc.stack if not frame.filename.startswith(hidden)])
    return "".join(exc.format()).rstrip()


def run_exercise(number, *answers):
    """Run exercise `number` against the student's answers and return its Checks."""
    lab = number.split(".")[0]
    try:
        importlib.import_module(f"coursekit.labs.lab{int(lab):02d}")
    except (ModuleNotFoundError, ValueError):
        pass
    if number not in EXERCISES:
        raise ValueError(f"There is no exercise {number!r}; check the number in the cell.")
    checks = Checks(number)
    try:
        EXERCISES[number](checks, *answers)
    except StopExercise:
        pass
    finally:
        checks.stop_servers()
    return checks


def check(number, *answers):
    """Check exercise `number` ("0.1") of a lab and print what passed and what did not."""
    checks = run_exercise(number, *answers)
    print(checks.report())
    record = os.environ.get("COURSEKIT_CHECK_RECORD")
    if record:  # the test suite reads this to prove checks fail on starters and pass on solutions
        with open(record, "a") as f:
            f.write(json.dumps({"exercise": number, "passed": checks.passed,
                                "total": len(checks.results)}) + "\n")
