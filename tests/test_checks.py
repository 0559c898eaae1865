"""Lab checks: plain-language feedback, deadlines, tracebacks last, never a crash or a hang."""
import json
import time

import pytest
import requests

from coursekit.checks import Checks, StopExercise, check, exercise, run_exercise, student_traceback


@exercise("99.1")
def double_checks(t, double):
    t.answered(double, "double")
    with t.part("double(2) is 4", hint="Multiply by two."):
        t.equal(double(2), 4)
    with t.part("double(-3) is -6", hint="Negative numbers too."):
        t.equal(double(-3), -6)


@exercise("99.2")
def server_checks(t):
    server = t.launch("apps/never_written.py", "wsgiref")
    with t.part("never reached"):
        server.get("/")


def test_correct_answer_passes_every_part():
    result = run_exercise("99.1", lambda x: 2 * x)
    assert result.passed == len(result.results) == 3
    assert result.report().endswith("✔ Exercise 99.1: all 3 checks passed.")


def test_wrong_answer_says_expected_got_and_hint_but_not_the_solution():
    report = run_exercise("99.1", lambda x: x + 2).report()
    assert "✔ double(2) is 4" in report
    assert "✘ double(-3) is -6" in report
    assert "expected: -6" in report and "got:      -1" in report and "hint: Negative numbers too." in report
    assert report.splitlines()[-1].startswith("✘ Exercise 99.1: 2 of 3 checks passed.")


def test_unwritten_answer_stops_with_a_plain_message():
    result = run_exercise("99.1", ...)
    assert (result.passed, len(result.results)) == (0, 1)
    assert "Replace the ... in the cell that defines double" in result.report()


def test_exception_in_student_code_is_reported_with_its_traceback_last():
    def double(x):
        return x / 0

    report = run_exercise("99.1", double).report()
    assert "your code raised ZeroDivisionError: division by zero" in report
    lines = report.splitlines()
    assert lines.index("Where your code raised (double(2) is 4):") > lines.index("      hint: Multiply by two.")
    assert "return x / 0" in report
    assert "coursekit" not in report.split("Where your code raised")[1]  # toolkit frames hidden
    assert lines[-1].startswith("✘")


def test_endless_loop_is_cut_by_the_deadline(monkeypatch):
    monkeypatch.setattr("coursekit.checks.PART_SECONDS", 0.5)

    @exercise("99.3")
    def loop_checks(t, f):
        with t.part("f() returns", seconds=0.5):
            f()

    def forever():
        while True:
            pass

    started = time.monotonic()
    report = run_exercise("99.3", forever).report()
    assert time.monotonic() - started < 3
    assert "no result within 0.5 s" in report


@pytest.mark.servers
def test_server_exercise_checked_before_the_file_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_exercise("99.2")
    assert (result.passed, len(result.results)) == (0, 1)
    assert "does not exist yet" in result.report()


def test_unknown_exercise_number_is_explained():
    with pytest.raises(ValueError, match="There is no exercise '42.42'"):
        run_exercise("42.42")


def test_check_prints_the_report_and_records_the_result(tmp_path, monkeypatch, capsys):
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("COURSEKIT_CHECK_RECORD", str(record))
    check("99.1", lambda x: 2 * x)
    assert "✔ Exercise 99.1: all 3 checks passed." in capsys.readouterr().out
    recorded = json.loads(record.read_text())
    assert {k: recorded[k] for k in ("exercise", "passed", "total")} == {"exercise": "99.1", "passed": 3,
                                                                          "total": 3}
    assert recorded["report"].endswith("✔ Exercise 99.1: all 3 checks passed.")


def test_a_failed_required_part_stops_the_exercise():
    t = Checks("0.0")
    with pytest.raises(StopExercise):
        t.answered(None, "thing")
    assert t.passed == 0


@exercise("99.4")
def endless_server_checks(t):
    server = t.launch("apps/endless.py", "wsgiref")
    with t.part("GET / answers", hint="Look for a loop that never ends."):
        server.get("/", timeout=1)


@pytest.mark.servers
def test_a_server_stuck_in_a_loop_gets_a_plain_message_and_its_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "endless.py").write_text(
        "def app(environ, start_response):\n    print('handling', environ['PATH_INFO'])\n"
        "    while True:\n        pass\n")
    started = time.monotonic()
    result = run_exercise("99.4")
    report = result.report()
    assert time.monotonic() - started < 8
    assert (result.passed, len(result.results)) == (1, 2)
    assert "did not answer in time" in report and "Look for a loop that never ends." in report
    assert "The end of your server's log" in report and "handling /" in report
    assert "ReadTimeout" not in report  # the student sees words, not the client library's exception


def test_failed_requests_are_explained_in_words():
    from coursekit.explain import connection_problem

    assert "did not answer in time" in connection_problem(requests.ReadTimeout("read timed out"))
    assert "was refused" in connection_problem(ConnectionRefusedError(111, "Connection refused"))
    assert "was reset" in connection_problem(ConnectionResetError(104, "Connection reset by peer"))
    assert "status line" in connection_problem(requests.ConnectionError("BadStatusLine('hello')"))
    assert "without a complete answer" in connection_problem(
        requests.ConnectionError("RemoteDisconnected('Remote end closed connection')"))


def test_traceback_leaves_out_standard_library_frames():
    import json

    def parse(text):
        return json.loads(text)

    try:
        parse("{not json")
    except ValueError as error:
        shown = student_traceback(error)
    assert "return json.loads(text)" in shown
    assert "json/decoder.py" not in shown and "JSONDecodeError" in shown


@exercise("99.5")
def retrying_checks(t, f):
    with t.part("f() returns", seconds=0.5):
        f()


def test_a_retry_loop_that_catches_exception_cannot_swallow_the_deadline():
    def stubborn():
        while True:
            try:
                while True:
                    pass
            except Exception:  # a student's retry loop
                continue

    started = time.monotonic()
    report = run_exercise("99.5", stubborn).report()
    assert time.monotonic() - started < 3
    assert "no result within 0.5 s" in report


def test_even_a_bare_except_cannot_swallow_the_deadline():
    def very_stubborn():
        for _ in range(3):  # swallows the first interruptions; the deadline fires again
            try:
                while True:
                    pass
            except:  # noqa: E722 - the mistake under test
                pass
        while True:
            pass

    started = time.monotonic()
    report = run_exercise("99.5", very_stubborn).report()
    assert time.monotonic() - started < 3
    assert "no result within 0.5 s" in report


def test_deadlines_nest_without_cancelling_the_outer_one():
    from coursekit.deadlines import TimeLimit, deadline

    started = time.monotonic()
    with pytest.raises(TimeLimit):
        with deadline(0.5):
            with deadline(5):
                pass
            while True:
                pass
    assert time.monotonic() - started < 2


def test_not_written_yet_is_said_plainly():
    def stub(x):
        raise NotImplementedError("double() is not written yet")

    result = run_exercise("99.6", stub)  # answered() probes the function: a stub is not written
    report = result.report()
    assert (result.passed, len(result.results)) == (0, 1)
    assert "double() is not written yet" in report
    result = run_exercise("99.1", stub)  # no probe: each part says it plainly
    report = result.report()
    assert "not written yet: double() is not written yet" in report
    assert "Where your code raised" not in report  # a stub is not a bug: no traceback


@exercise("99.6")
def stub_checks(t, double):
    t.answered(double, "double", probe=lambda: double(1))
    with t.part("double(2) is 4"):
        t.equal(double(2), 4)


@exercise("99.7")
def required_checks(t):
    with t.part("first", hint="the one message", required=True):
        t.equal(1, 2)
    with t.part("second"):
        pass


def test_a_failed_required_part_stops_with_one_message():
    result = run_exercise("99.7")
    assert [d for d, _, _ in result.results] == ["first"]
    assert result.report().count("hint:") == 1


class FakeResponse:
    def __init__(self, status_code=200, headers=None, reason="OK"):
        from coursekit.inprocess import Headers

        self.status_code, self.reason = status_code, reason
        self.headers = Headers((headers or {}).items())


@pytest.mark.parametrize("value", ["application/json", "application/json; charset=utf-8",
                                   "Application/JSON;charset=UTF-8"])
def test_media_type_accepts_parameters_and_any_case(value):
    Checks("0.0").media_type(FakeResponse(headers={"Content-Type": value}), "application/json")


@pytest.mark.parametrize("value", ["text/json", "application/jsonx", None])
def test_media_type_refuses_other_types(value):
    from coursekit.checks import CheckFailed

    with pytest.raises(CheckFailed):
        Checks("0.0").media_type(FakeResponse(headers={"Content-Type": value} if value else {}),
                                 "application/json")


@pytest.mark.parametrize("data, words", [
    (b"", "nothing at all"),
    (b"HTTP/1.1 200 OK\nContent-Type: text/plain\n\nhi", "ends in \\n alone"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nhello", "is the empty line after the headers missing?"),
    (b"200 OK\r\n\r\nhi", "is not a status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Data: 1", "no empty line"),
])
def test_wire_answers_are_parsed_strictly_and_shown_raw(data, words):
    from coursekit.checks import CheckFailed

    with pytest.raises(CheckFailed) as failed:
        Checks("0.0").wire(data)
    assert words in failed.value.got
    if data:
        assert "first bytes received" in failed.value.got
        assert "HTTP/1.1 200 OK\\r\\n" in failed.value.expected  # the expected shape, CRLF visible


def test_a_well_formed_wire_answer_reads_like_a_response():
    answer = Checks("0.0").wire(b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n"
                                b"Content-Length: 2\r\n\r\nno")
    assert (answer.status_code, answer.reason, answer.content, answer.text) == (404, "Not Found", b"no", "no")
    assert answer.headers["Content-Type"] == "text/plain"


def test_status_on_a_server_error_quotes_the_log_instead_of_the_hint(tmp_path):
    from coursekit.checks import CheckFailed

    class Log:
        log_path = tmp_path / "server.log"

    Log.log_path.write_text("Traceback (most recent call last):\n  File 'x'\n"
                            "AssertionError: write() argument must be a bytes instance\n")
    with pytest.raises(CheckFailed) as failed:
        Checks("0.0").status(FakeResponse(500, reason="Internal Server Error"), 200, Log)
    assert "write() argument must be a bytes instance" in failed.value.got
    assert "the body must be bytes" in failed.value.hint


def test_a_lab_module_whose_own_import_fails_is_not_called_missing(monkeypatch):
    def broken(name):
        raise ModuleNotFoundError("No module named 'psutil'", name="psutil")

    monkeypatch.setattr("coursekit.checks.importlib.import_module", broken)
    with pytest.raises(ModuleNotFoundError, match="psutil"):
        run_exercise("0.1")


@exercise("99.8")
def slow_launch_checks(t):
    t.launch("apps/silent.py", "script")


@pytest.mark.servers
def test_the_launchers_own_message_reaches_the_student(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("coursekit.checks.LAUNCH_SECONDS", 1)
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "silent.py").write_text("import time\nprint('thinking')\ntime.sleep(60)\n")
    report = run_exercise("99.8").report()
    assert "did not answer on port" in report and "thinking" in report
    assert "endless loop" not in report


def test_reports_use_marks_that_need_no_emoji_font():
    """Emoji-style marks (✅ U+2705, ❌ U+274C) are empty boxes without an emoji font."""
    text = run_exercise("99.1", lambda x: x + 2).report() + run_exercise("99.1", lambda x: 2 * x).report()
    assert not [c for c in text if 0x2700 <= ord(c) < 0x27C0 and c not in "✔✘" or ord(c) >= 0x1F000]


def test_a_report_never_points_at_a_log_that_is_not_there(tmp_path):
    class Silent:
        log_path = tmp_path / "empty.log"

    Silent.log_path.write_text("")
    t = Checks("0.0")
    t.servers.append(Silent)
    with t.part("GET / answers"):
        raise ConnectionResetError(104, "Connection reset by peer")
    report = t.report()
    assert "was reset" in report and "log" not in report
    Silent.log_path.write_text("Traceback: the server's own words\n")
    report = t.report()
    assert "(its log is shown below)" in report and "the server's own words" in report


def every_exercise():
    """Every exercise of every lab, with the names of what its check asks for."""
    import importlib
    import inspect
    import pkgutil

    import coursekit.labs
    from coursekit.checks import EXERCISES

    for module in pkgutil.iter_modules(coursekit.labs.__path__):
        if module.name.startswith("lab"):
            importlib.import_module(f"coursekit.labs.{module.name}")
    return [(number, list(inspect.signature(function).parameters)[1:])
            for number, function in sorted(EXERCISES.items()) if not number.startswith("99.")]


@pytest.mark.parametrize("number, wanted", every_exercise(), ids=lambda v: v if isinstance(v, str) else "")
def test_missing_or_extra_arguments_say_what_to_pass_in_one_sentence(number, wanted, capsys):
    call = ", ".join([f'"{number}"', *wanted])
    wrong_counts = [len(wanted) + 1] + ([0, len(wanted) - 1] if wanted else [])
    for count in dict.fromkeys(wrong_counts):
        with pytest.raises(TypeError) as raised:
            check(number, *[object()] * count)
        said = str(raised.value)
        assert said.startswith(f'check("{number}") needs ') and said.endswith(f"call check({call}).")
        assert said.count(". ") == 0 and "\n" not in said, f"one sentence, please: {said}"
        assert ("nothing after" in said) == (not wanted)
        assert raised.value._render_traceback_() == [f"✘ {said}"]  # no traceback in a notebook
    assert capsys.readouterr().out == "", "nothing is run or printed before the arguments are right"


def test_lab00_greeting_without_the_function_names_it():
    with pytest.raises(TypeError, match=r'needs your greeting .* and got nothing: call check\("0.1", greeting\)\.'):
        check("0.1")
