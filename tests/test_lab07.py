"""Lab 07's checks against plausible wrong answers (each must fail with its hint) and valid
alternatives (each must pass), run through the real checks against real aiohttp servers."""
import asyncio

import aiohttp
import pytest

from coursekit.checks import run_exercise
from coursekit.labs.lab07 import blocking_calls
from test_contract import files_from_notebook
from wrong_answers_lab07 import CLIENT, SOLUTION, wrong_answers

ANSWERS = wrong_answers()


def test_every_exercise_has_three_wrong_answers_and_a_valid_one():
    for number in ("7.1", "7.2", "7.3", "7.4", "7.5", "7.6", "7.7"):
        mine = [a for a in ANSWERS if a["exercise"] == number]
        assert sum(not a["valid"] for a in mine) >= 3 and sum(a["valid"] for a in mine) >= 1, number
        assert all(a["valid"] or a["hint"] for a in mine)


def test_blocking_calls_are_found_only_inside_coroutines(tmp_path):
    source = tmp_path / "app.py"
    source.write_text("import time, sqlite3, asyncio\nimport bookmarks_store as store\n\n"
                      "def setup():\n    time.sleep(1)\n\n"
                      "async def good(request):\n    await asyncio.to_thread(store.get_bookmark, 1)\n\n"
                      "async def bad(request):\n    time.sleep(0.1)\n    sqlite3.connect('x')\n"
                      "    return store.get_bookmark(1)\n")
    assert blocking_calls(source) == ["line 11 in bad(): time.sleep(...)",
                                      "line 12 in bad(): sqlite3.connect(...)",
                                      "line 13 in bad(): store.get_bookmark(...)"]


@pytest.mark.servers
@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a['exercise']}-{a['label']}" for a in ANSWERS])
def test_check_judges_the_answer(answer, tmp_path, monkeypatch):
    files_from_notebook(SOLUTION, tmp_path)
    arguments = []
    if answer["cell"] == CLIENT:  # a coroutine defined in the notebook, not a file
        namespace = {"asyncio": asyncio, "aiohttp": aiohttp}
        exec(compile(answer["source"], "<answer>", "exec"), namespace)
        arguments.append(namespace["fetch_pages"])
    else:
        (tmp_path / answer["cell"]).write_text(answer["source"] + "\n")
    monkeypatch.chdir(tmp_path)
    checks = run_exercise(answer["exercise"], *arguments)
    report = checks.report()
    if answer["valid"]:
        assert checks.passed == len(checks.results), f"a valid answer fails:\n{report}"
    else:
        assert checks.passed < len(checks.results), f"the check lets this through:\n{report}"
        assert answer["hint"] in report, f"the report does not say {answer['hint']!r}:\n{report}"
