"""Lab 08's Django solution against the contract on a real PostgreSQL, where one can start."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_contract import files_from_notebook

ROOT = Path(__file__).resolve().parent.parent
SOLUTION, LESSON = ROOT / "solutions" / "08-solution-django.ipynb", ROOT / "notebooks" / "08-django.ipynb"
SITE = "apps/bookmarks_site"


def make_migrations(folder):
    """What the lab's makemigrations cell does, in the copied project."""
    done = subprocess.run([sys.executable, "manage.py", "makemigrations", "bookmarks"], cwd=folder / SITE,
                          env=dict(os.environ, BOOKMARKS_DB=str(folder / "makemigrations.sqlite3")),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


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
