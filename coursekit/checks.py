"""Self-checking labs: `check("N.M", ...)` runs exercise N.M's checks and reports in plain words.

Each exercise lives in coursekit/labs/labNN.py as a function of a `Checks` object, `t`:

    with t.part("GET / answers 200", hint="...", required=True):   # one checked behaviour
        t.status(server.get("/"), 200, server)                      # vocabulary: status, equal,
                                                                    # media_type, wire, expect
A part passes unless its block raises. It says what was expected and what came back, with a hint
that names the real cause (or nothing); a failed required part stops the exercise there. Tracebacks
from the student's code come after that, one result line comes last. Every part runs under a
deadline the student's code cannot swallow, and nothing the answer started outlives the check.
"""
import importlib
import inspect
import json
import os
import re
import socket
import sysconfig
import traceback
from contextlib import contextmanager
from pathlib import Path

import requests

from coursekit import servers
from coursekit.deadlines import TimeLimit, deadline
from coursekit.explain import connection_problem
from coursekit.inprocess import Headers
from coursekit.servers import ServerError, launch, log_tail

EXERCISES = {}  # "0.1" -> function(checks, *student_objects)
# A part's deadline: wide, since several requests on a busy classroom host may each take seconds,
# and each request in it has a shorter deadline of its own, whose message is the clearer one.
PART_SECONDS = 15
# launch()'s own deadline, as long as its default (a classroom host under load can take seconds to
# start Python, more to migrate a database on start), and shorter than the part's, so that
# launch()'s message is the one seen.
LAUNCH_SECONDS = servers.LAUNCH_SECONDS
LOG_LINES = 12
WIRE_BYTES = 300  # how much of a raw answer a failure shows
HERE = Path(__file__).resolve().parent
# Text-style marks (in DejaVu Sans, Noto Sans Symbols 2, Segoe UI Symbol): the emoji-style ones
# (U+2705, U+274C) show as empty boxes where no emoji font is installed.
PASS_MARK, FAIL_MARK = "✔", "✘"

# Errors a server's log shows, in words a student can act on (first match wins).
LOG_WORDS = [
    ("NotImplementedError", "your function is not written yet: replace its `raise "
                            "NotImplementedError(...)` line with your code"),
    ("write() argument must be a bytes instance",
     "the body must be bytes: return [b'...'], or encode text with .encode()"),
    ("'NoneType' object is not iterable", "the app returned None: return a list of bytes"),
    ("Headers already set", "start_response was called twice"),
]


def exercise(number):
    """Register a function as the checks of exercise `number` (used in coursekit/labs/)."""
    def register(function):
        EXERCISES[number] = function
        return function
    return register


class CheckFailed(AssertionError):
    """One part of an exercise did not behave as expected. `hint`, when given, replaces the part's
    own hint ("" for none): the part's hint would point at the wrong cause."""

    def __init__(self, expected, got, hint=None):
        super().__init__(f"expected {expected}, got {got}")
        self.expected, self.got, self.hint = expected, got, hint


class StopExercise(Exception):
    """A part that the others need failed; the remaining parts cannot run."""


class Checks:
    """Runs the parts of one exercise and remembers what passed and what did not."""

    def __init__(self, number):
        self.number = number
        self.results = []  # (description, passed, lines explaining a failure)
        self.tracebacks = []
        self.servers = []
        self.cleanups = []  # called after the exercise, whatever happened

    @contextmanager
    def part(self, description, hint="", seconds=PART_SECONDS, required=False):
        """One check: the block passes unless it raises; a failure is explained, never fatal.
        A failed required part stops the exercise (the parts after it need it)."""
        problem, timed_out = None, False
        try:
            with deadline(seconds):
                yield
        except CheckFailed as failed:
            problem = [f"expected: {failed.expected}", *indented("got:      ", failed.got)]
            hint = hint if failed.hint is None else failed.hint
        except TimeLimit:
            problem = [f"no result within {seconds:g} s: is there an endless loop, or a request "
                       "that never gets an answer?"]
            timed_out = True
        except StopExercise:
            raise
        except NotImplementedError as error:  # the starter's stub
            problem = [f"not written yet: {error or 'your code raises NotImplementedError'}"]
            hint = "Replace the `raise NotImplementedError(...)` line with your code."
        except (requests.RequestException, ConnectionError, TimeoutError) as error:
            problem = [connection_problem(error)]  # words, not the client library's exception
            timed_out = "timed out" in repr(error).lower() or isinstance(error, requests.Timeout)
        except Exception as error:  # the student's code raised: say so, keep the traceback for last
            problem = [f"your code raised {type(error).__name__}: {error}"]
            self.tracebacks.append((description, error))
        if problem and hint:
            problem.append(f"hint: {hint}")
        self.results.append((description, problem is None, problem or []))
        if problem and (required or timed_out):
            if timed_out:  # the next parts would each wait as long again for the same server
                problem.append("(the remaining parts were not run: fix this one first)")
            raise StopExercise()

    # ----- vocabulary: what parts say ------------------------------------------------------

    def expect(self, condition, expected, got, hint=None):
        if not condition:
            raise CheckFailed(expected, got, hint)

    def equal(self, got, expected):
        self.expect(got == expected, repr(expected), repr(got))

    def answered(self, value, name, probe=None):
        """Stop early, with a plain message, if the student has not written `name` yet.
        `probe()` (optional) calls it once: a stub that raises NotImplementedError is not written."""
        with self.part(f"{name} is written", hint=f"Replace the ... in the cell that defines {name}.",
                       required=True):
            self.expect(value is not ... and value is not None, f"{name} to be written", "...")
            if probe is not None:
                try:
                    probe()
                except NotImplementedError as error:
                    raise CheckFailed(f"{name} to be written", f"{error or 'NotImplementedError'}",
                                      hint="Replace the `raise NotImplementedError(...)` line "
                                           "with your code.") from None
                except Exception:
                    pass  # written, but wrong: the parts that follow say how

    def status(self, response, code, server=None):
        """Expect HTTP status `code`; on a server error, say what the server's log says instead
        of the part's hint (which would point elsewhere)."""
        if response.status_code == code:
            return
        got = f"{response.status_code} {getattr(response, 'reason', '') or ''}".strip()
        if response.status_code >= 500 and server is not None:
            said = server_says(server)
            if said:
                raise CheckFailed(f"{code}", f"{got}; your server's log says: {said}",
                                  hint=explain_log_line(said))
        raise CheckFailed(f"{code}", got)

    def media_type(self, response, expected):
        """Expect a Content-Type of `expected` (e.g. application/json); parameters such as
        `; charset=utf-8` and letter case do not matter, as in RFC 9110."""
        got = response.headers.get("Content-Type") or response.headers.get("content-type")
        kind = (got or "").split(";")[0].strip().lower()
        self.expect(kind == expected, f"Content-Type {expected}",
                    repr(got) if got else "no Content-Type header")

    def wire(self, data, shape=None):
        """Parse raw bytes received as one HTTP/1.x answer; a malformed one fails with the first
        bytes received shown next to the shape expected. Returns a WireAnswer."""
        answer, problem = parse_wire(data)
        if problem:
            raise CheckFailed(f"an answer shaped like\n{shape or EXPECTED_SHAPE}",
                              f"{problem}, in the first bytes received:\n{shown(data)}")
        return answer

    # ----- resources: servers and clean-ups -------------------------------------------------

    def launch(self, path, kind, **options):
        """Start the student's server for the remaining parts; stop the exercise if it fails."""
        with self.part(f"{path} starts and answers", seconds=LAUNCH_SECONDS + 4, required=True,
                       hint="Run the %%writefile cell above first; the log below shows what went wrong."):
            try:
                server = launch(path, kind, name=f"check-{Path(path).stem}", timeout=LAUNCH_SECONDS,
                                quiet=True, **options)
            except ServerError as error:
                raise CheckFailed("a server that starts and answers", str(error)) from None
            self.servers.append(server)
        return server

    def finish(self):
        """Stop the servers and run the clean-ups (a deadline on each; never raises)."""
        for action in [server.stop for server in self.servers] + self.cleanups:
            try:
                with deadline(10):
                    action()
            except (TimeLimit, Exception):
                pass

    def stop_servers(self):
        self.finish()

    # ----- the report ---------------------------------------------------------------------

    @property
    def passed(self):
        return sum(ok for _, ok, _ in self.results)

    def report(self):
        """The feedback a student reads: parts, hints, tracebacks, then one result line."""
        logs = []
        if self.passed < len(self.results):
            for server in self.servers:  # a failing server's own words are the best clue
                tail = log_tail(server.log_path, LOG_LINES)
                if tail:
                    logs.append(f"\nThe end of your server's log ({server.log_path}):\n{tail}")
        lines = [f"Exercise {self.number}"]
        for description, ok, problem in self.results:
            lines.append(f"  {PASS_MARK if ok else FAIL_MARK} {description}")
            for line in problem:  # never point at a log that is not there
                lines.append(f"      {line if logs else line.replace(' (its log is shown below)', '')}")
        for description, error in self.tracebacks:
            lines.append(f"\nWhere your code raised ({description}):")
            lines.append(student_traceback(error))
        lines.extend(logs)
        total = len(self.results)
        if total and self.passed == total:
            lines.append(f"{PASS_MARK} Exercise {self.number}: all {total} checks passed.")
        else:
            lines.append(f"{FAIL_MARK} Exercise {self.number}: {self.passed} of {total} checks passed. "
                         "Change your code and run the check again.")
        return "\n".join(lines)


def indented(first, text):
    """`first` + text, with the lines after the first indented to line up under it."""
    head, *rest = str(text).split("\n")
    return [first + head, *(" " * len(first) + line for line in rest)]


# ----- byte-level answers ------------------------------------------------------------------

EXPECTED_SHAPE = ("    HTTP/1.1 200 OK\\r\\n\n    Name: value\\r\\n   (one line per header)\n"
                  "    \\r\\n              (an empty line ends the headers)\n    the body")
STATUS_LINE = re.compile(r"HTTP/1\.[01] (\d{3})(?: (.*))?")


class WireAnswer:
    """One answer as it came over the wire, read the way a check reads any response: status_code,
    reason, headers (any case), content (every byte after the empty line) and text."""

    def __init__(self, status_line, headers, body, raw=b""):
        self.status_line, self.headers, self.content, self.raw = status_line, headers, body, raw
        match = STATUS_LINE.fullmatch(status_line)
        self.status_code, self.reason = int(match.group(1)), match.group(2) or ""

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")


def parse_wire(data):
    """(WireAnswer, None) for bytes that are a well-formed HTTP/1.x answer, else (None, what is wrong)."""
    if not data:
        return None, "nothing at all"
    head, blank, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if b"\n" in lines[0]:
        return None, "the first line ends in \\n alone: every line of an HTTP head ends in \\r\\n"
    status_line = lines[0].decode("latin-1")
    if not STATUS_LINE.fullmatch(status_line):
        return None, f"the first line {status_line[:60]!r} is not a status line such as 'HTTP/1.1 200 OK'"
    headers = []
    for number, line in enumerate(lines[1:], start=2):
        text = line.decode("latin-1")
        name, colon, value = text.partition(":")
        if not colon or not name or name != name.strip():
            where = f"line {number}, {text[:60]!r}, is not a header line 'Name: value'"
            return None, where + (" (is the empty line after the headers missing?)" if not blank else "")
        headers.append((name, value.strip()))
    if not blank:
        return None, "no empty line (\\r\\n\\r\\n) after the headers"
    return WireAnswer(status_line, Headers(headers), body, data), None


def shown(data, limit=WIRE_BYTES):
    """Raw bytes as text with each CRLF made visible (coursekit.client.show_raw's way), indented."""
    text = data[:limit].decode("latin-1").replace("\r\n", "\\r\\n\n").replace("\r", "\\r")
    more = f"\n    ... ({len(data) - limit} more bytes)" if len(data) > limit else ""
    return "\n".join(f"    {line}" for line in text.rstrip("\n").split("\n")) + more


def exchange(server, request, seconds=3, settle=0.3):
    """Send raw request bytes and read until the server closes the connection (or `seconds` pass).
    Once a whole answer has come (its Content-Length of body), wait only `settle` s for more:
    extra bytes then show a Content-Length that is too small."""
    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=seconds) as sock:
        sock.sendall(request)
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if complete(received):
                    sock.settimeout(settle)
        except (TimeoutError, ConnectionError):
            pass
    return received


def complete(data):
    """True once `data` holds a head and at least Content-Length bytes of body."""
    head, blank, body = data.partition(b"\r\n\r\n")
    found = re.search(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*$", head)
    return bool(blank and found and len(body) >= int(found.group(1)))


# ----- servers' logs -----------------------------------------------------------------------

LOG_ERROR = re.compile(r"^(\w*(?:Error|Exception|Warning|NotImplemented\w*)\b.*)$", re.M)


def server_says(server):
    """The last error line in the server's log ('' if none): the cause of a 500."""
    text = log_tail(server.log_path, 200)
    found = LOG_ERROR.findall(text)
    return found[-1].strip() if found else ""


def explain_log_line(line):
    """A hint for an error line from a server's log, or '' when there is none to give."""
    return next((plain for start, plain in LOG_WORDS if start in line), "")


def student_traceback(error):
    """A traceback of the student's own frames: the toolkit's, the standard library's and
    installed packages' frames are left out, so the student's line stands out."""
    hidden = (str(HERE), sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], "<frozen")
    exc = traceback.TracebackException.from_exception(error)
    exc.stack = traceback.StackSummary.from_list(
        [frame for frame in exc.stack if not frame.filename.startswith(hidden)])
    return "".join(exc.format()).rstrip()


class WrongArguments(TypeError):
    """check() got more or fewer things than its exercise asks for; says what to pass."""

    def __init__(self, number, wanted, given):
        needs = f"your {and_list(wanted)}" if wanted else "nothing"
        got = "nothing" if not given else f"{given} thing{'s' if given > 1 else ''}"
        call = ", ".join([f'"{number}"', *wanted])
        super().__init__(f'check("{number}") needs {needs} after the exercise number, and got '
                         f"{got}: call check({call}).")

    def _render_traceback_(self):
        # IPython shows this sentence instead of a traceback through the toolkit's frames.
        return [f"{FAIL_MARK} {self}"]


def and_list(names):
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def run_exercise(number, *answers):
    """Run exercise `number` against the student's answers and return its Checks."""
    lab = number.split(".")[0]
    module = f"coursekit.labs.lab{int(lab):02d}" if lab.isdigit() else None
    if module:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise  # the lab module exists but its own import failed: that is what to fix
    if number not in EXERCISES:
        raise ValueError(f"There is no exercise {number!r}; check the number in the cell.")
    wanted = list(inspect.signature(EXERCISES[number]).parameters)[1:]  # after the Checks object
    if len(answers) != len(wanted):
        raise WrongArguments(number, wanted, len(answers))
    checks = Checks(number)
    try:
        EXERCISES[number](checks, *answers)
    except StopExercise:
        pass
    finally:
        checks.finish()
    return checks


def check(number, *answers):
    """Check exercise `number` ("0.1") of a lab and print what passed and what did not."""
    checks = run_exercise(number, *answers)
    print(checks.report())
    record = os.environ.get("COURSEKIT_CHECK_RECORD")
    if record:  # the test suite reads this to prove checks fail on starters and pass on solutions
        with open(record, "a") as f:
            f.write(json.dumps({"exercise": number, "passed": checks.passed,
                                "total": len(checks.results), "report": checks.report()}) + "\n")
