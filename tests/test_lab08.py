"""Lab 08's checks against plausible wrong answers (each must fail with its hint) and valid
alternatives (each must pass), run through the real checks against real servers; and the
Django solution against the contract on a real PostgreSQL where one can start."""
import os
import subprocess
import sys

import pytest

from coursekit.checks import run_exercise
from test_contract import files_from_notebook
from wrong_answers_lab08 import SITE, SOLUTION, wrong_answers

LESSON = SOLUTION.parent.parent / "notebooks" / "08-django.ipynb"

ANSWERS = wrong_answers()


def test_every_exercise_has_three_wrong_answers_and_a_valid_one():
    for number in ("8.1", "8.2", "8.3", "8.4", "8.5", "8.6", "8.7"):
        mine = [a for a in ANSWERS if a["exercise"] == number]
        assert sum(not a["valid"] for a in mine) >= 3 and sum(a["valid"] for a in mine) >= 1, number
        assert all(a["valid"] or a["hint"] for a in mine)


def make_migrations(folder):
    """What the lab's makemigrations cell does, in the copied project."""
    done = subprocess.run([sys.executable, "manage.py", "makemigrations", "bookmarks"], cwd=folder / SITE,
                          env=dict(os.environ, BOOKMARKS_DB=str(folder / "makemigrations.sqlite3")),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.servers
@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a['exercise']}-{a['label']}" for a in ANSWERS])
def test_check_judges_the_answer(answer, tmp_path, monkeypatch):
    files_from_notebook(SOLUTION, tmp_path)
    if not answer["after_migrations"]:
        (tmp_path / answer["cell"]).write_text(answer["source"] + "\n")
    make_migrations(tmp_path)
    if answer["after_migrations"]:
        (tmp_path / answer["cell"]).write_text(answer["source"] + "\n")
    monkeypatch.chdir(tmp_path)
    checks = run_exercise(answer["exercise"])
    report = checks.report()
    if answer["valid"]:
        assert checks.passed == len(checks.results), f"a valid answer fails:\n{report}"
    else:
        assert checks.passed < len(checks.results), f"the check lets this through:\n{report}"
        assert answer["hint"] in report, f"the report does not say {answer['hint']!r}:\n{report}"


@pytest.mark.servers
def test_solution_keeps_the_contract_on_postgresql(tmp_path):
    """The lab's solution, unchanged, on the real PostgreSQL that lesson 08 starts from a wheel;
    skipped, with PostgreSQL's own reason, where that server cannot start."""
    import psycopg

    from coursekit.contract import ENV_API_KEY, run_contract
    from coursekit.servers import ServerError, launch

    files_from_notebook(LESSON, tmp_path / "lesson")
    try:
        postgres = launch(tmp_path / "lesson" / "apps" / "postgres_server.py", env={"PGDATA_DIR": str(tmp_path / "pg")},
                          name="postgres", quiet=True, timeout=60)
    except ServerError as error:
        pytest.skip(f"PostgreSQL could not start here: {error}")
    files_from_notebook(SOLUTION, tmp_path / "lab")
    make_migrations(tmp_path / "lab")
    url = f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"
    key = "k-" + os.urandom(12).hex()
    site = launch(tmp_path / "lab" / SITE / "wsgi.py", "gunicorn", app="application", quiet=True, timeout=30,
                  env={"DATABASE_URL": url, ENV_API_KEY: key}, name="django-on-postgres")
    report = run_contract(site, key, ["routes", "errors", "auth", "html"])
    assert report.passed, f"the Django solution breaks the contract on PostgreSQL:\n{report}"
    with psycopg.connect(url) as connection:  # the bookmarks really are in PostgreSQL
        stored = connection.execute("SELECT count(*) FROM bookmarks_bookmark").fetchone()[0]
    assert stored > 10
    site.stop()
    postgres.stop()
    assert not postgres.alive()
