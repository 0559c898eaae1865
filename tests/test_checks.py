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
    assert result.report().endswith("✅ Exercise 99.1: all 3 checks passed.")


def test_wrong_answer_says_expected_got_and_hint_but_not_the_solution():
    report = run_exercise("99.1", lambda x: x + 2).report()
    assert "✔ double(2) is 4" in report
    assert "✘ double(-3) is -6" in report
    assert "expected: -6" in report and "got:      -1" in report and "hint: Negative numbers too." in report
    assert report.splitlines()[-1].startswith("❌ Exercise 99.1: 2 of 3 checks passed.")


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
    assert lines[-1].startswith("❌")


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
    assert "✅ Exercise 99.1: all 3 checks passed." in capsys.readouterr().out
    assert json.loads(record.read_text()) == {"exercise": "99.1", "passed": 3, "total": 3}


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
