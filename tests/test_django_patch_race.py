"""Lesson 08's and lab 08's Django project under a server that really runs requests at once (gunicorn with
threads): concurrent PATCHes of different fields of one bookmark all take effect (issue 30). With
one sync worker, as the lab's checks serve it, requests never overlap and a read-modify-write PATCH
passes storage.concurrent by luck; here it is caught."""
import secrets

import pytest

from coursekit.contract import run_contract
from coursekit.servers import launch
from test_contract import IMPLEMENTATIONS, DjangoProject

PROJECTS = [next(i for i in IMPLEMENTATIONS if i.id == "django"),
            DjangoProject("django-lesson", "notebooks/08-django.ipynb", "apps/djangosite/wsgi.py", "gunicorn",
                          app="application")]


@pytest.mark.servers
@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.id)
def test_concurrent_patches_of_different_fields_lose_nothing_under_threads(project, tmp_path):
    path = project.prepare(tmp_path)
    env = {"BOOKMARKS_DB": str(tmp_path / "bookmarks.sqlite3"), "BOOKMARKS_API_KEY": secrets.token_urlsafe(24)}

    def start():
        server = launch(path, project.kind, app=project.app, name="django-threads", quiet=True, timeout=30,
                        env=env, args=["--threads", "8"])
        server.get("health", timeout=30)  # the worker has loaded Django
        return server
    report = run_contract(start(), env["BOOKMARKS_API_KEY"], ["storage"], db_path=env["BOOKMARKS_DB"],
                          restart=start)
    assert report.passed, str(report)
