"""In-lesson questions: every wrong option explained, the widget answers, the stored run is stable,
and every lesson asks something at least every 15 minutes of its teaching time."""
import re
from pathlib import Path

import nbformat
import pytest

from coursekit import questions
from coursekit.checks import FAIL_MARK, PASS_MARK
from coursekit.questions import Question, answer, question

ROOT = Path(__file__).resolve().parent.parent
PRACTICED = sorted((ROOT / "notebooks").glob("*.ipynb"))
GAP_MINUTES = 15
ASKS = re.compile(r"^\s*(question|check)\(", re.M)

SAMPLE = dict(number="9.1", text="Which port does `launch` pick?", right="One the OS picks",
              wrong={"Always 8000": "8000 is only a habit; two students would collide on it.",
                     "A random number the toolkit draws": "The OS picks it when we bind port 0."})


def test_a_wrong_option_without_its_explanation_is_refused():
    with pytest.raises(ValueError, match="explanation"):
        Question("9.2", "?", right="yes", wrong={"no": " "})
    with pytest.raises(ValueError, match="also listed"):
        Question("9.3", "?", right="yes", wrong={"yes": "why"})


def test_each_option_gets_its_own_feedback_and_the_order_does_not_give_the_answer_away():
    asked = Question(**SAMPLE)
    assert asked.feedback("One the OS picks").startswith(PASS_MARK)
    assert asked.feedback("Always 8000") == f"{FAIL_MARK} Not quite. {SAMPLE['wrong']['Always 8000']}"
    assert asked.options == Question(**SAMPLE).options, "the order must be the same on every run"
    firsts = {Question(**dict(SAMPLE, number=f"9.{n}")).options[0] for n in range(12)}
    assert len(firsts) > 1, "the right option should not always come first"


def test_the_widget_tells_the_student_what_they_chose(monkeypatch):
    monkeypatch.delenv(questions.STORED_RUN, raising=False)
    box = Question(**SAMPLE).widget()
    box.button.click()
    assert "Pick one" in box.said.value
    box.choices.value = "Always 8000"
    box.button.click()
    assert FAIL_MARK in box.said.value and "collide" in box.said.value
    box.choices.value = "One the OS picks"
    box.button.click()
    assert PASS_MARK in box.said.value


def test_the_stored_run_answers_every_option_without_naming_the_right_one(monkeypatch, capsys):
    monkeypatch.setenv(questions.STORED_RUN, "1")
    question(**SAMPLE)
    said = capsys.readouterr().out
    assert said.startswith("Question 9.1: 3 options") and "One the OS picks" not in said


def test_answer_in_plain_text(monkeypatch, capsys):
    monkeypatch.setenv(questions.STORED_RUN, "1")
    question(**SAMPLE)
    capsys.readouterr()
    right = "abc"[questions.ASKED["9.1"].options.index("One the OS picks")]
    answer("9.1", right)
    answer("9.1", "z")
    answer("9.9", "a")
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith(PASS_MARK) and "Choose a letter" in said[1] and "first" in said[2]


def sections(notebook):
    """(heading, minutes, asks) for each part of a lesson that starts with a # or ## heading."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and re.match(r"#{1,2} ", cell.source):
            minutes = cell.metadata.get("course", {}).get("minutes")
            found.append([cell.source.splitlines()[0], minutes, False])
        elif cell.cell_type == "code" and found and ASKS.search(cell.source):
            found[-1][2] = True
    return found


@pytest.mark.parametrize("path", PRACTICED, ids=lambda p: p.stem)
def test_every_section_states_its_minutes_and_they_add_up(path):
    notebook = nbformat.read(path, as_version=4)
    parts = sections(notebook)
    missing = [heading for heading, minutes, _ in parts if not isinstance(minutes, int)]
    assert not missing, f"give these headings metadata course.minutes: {missing}"
    total = sum(minutes for _, minutes, _ in parts)
    assert total == notebook.metadata.course.teaching, (
        f"sections add up to {total} min; metadata.course.teaching says {notebook.metadata.course.teaching}")


@pytest.mark.parametrize("path", PRACTICED, ids=lambda p: p.stem)
def test_a_question_or_check_at_least_every_15_minutes(path):
    parts = sections(nbformat.read(path, as_version=4))
    run, since = 0, []
    for heading, minutes, asks in parts:
        run += minutes or 0
        since.append(heading)
        if asks:
            assert run <= GAP_MINUTES, f"{run} min without a question: {since}"
            run, since = 0, []
    assert run <= GAP_MINUTES, f"the last {run} min ask nothing: {since}"
