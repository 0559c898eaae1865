"""Lab 06's checks against plausible wrong answers (each must fail with its hint) and valid
alternatives (each must pass), run through the real checks against real uvicorn servers."""
import pytest

from coursekit.checks import run_exercise
from test_contract import files_from_notebook
from wrong_answers_lab06 import SOLUTION, wrong_answers

ANSWERS = wrong_answers()


def test_every_exercise_has_three_wrong_answers_and_a_valid_one():
    for number in ("6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7"):
        mine = [a for a in ANSWERS if a["exercise"] == number]
        assert sum(not a["valid"] for a in mine) >= 3 and sum(a["valid"] for a in mine) >= 1, number
        assert all(a["valid"] or a["hint"] for a in mine)


@pytest.mark.servers
@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a['exercise']}-{a['label']}" for a in ANSWERS])
def test_check_judges_the_answer(answer, tmp_path, monkeypatch):
    files_from_notebook(SOLUTION, tmp_path)
    (tmp_path / answer["cell"]).write_text(answer["source"] + "\n")
    monkeypatch.chdir(tmp_path)
    checks = run_exercise(answer["exercise"])
    report = checks.report()
    if answer["valid"]:
        assert checks.passed == len(checks.results), f"a valid answer fails:\n{report}"
    else:
        assert checks.passed < len(checks.results), f"the check lets this through:\n{report}"
        assert answer["hint"] in report, f"the report does not say {answer['hint']!r}:\n{report}"
