"""/health of the lesson's and the solution's Django projects answers GET and HEAD only (issue 30).

A function view answers every method it is sent, so TRACE, POST or a made-up method got 200 from
lesson 08's sample; and for an unsafe method Django's CSRF middleware answers a 403 page before the
view runs. Every other method must get the contract's 405 in JSON, with `Allow: GET, HEAD`."""
import secrets

import pytest

from coursekit.servers import launch
from test_django_patch_race import PROJECTS

REFUSED = ("POST", "PUT", "PATCH", "DELETE", "TRACE", "QUERY")


@pytest.mark.servers
@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.id)
def test_health_answers_get_and_head_and_refuses_other_methods_with_405_and_allow(project, tmp_path):
    path = project.prepare(tmp_path)
    env = {"BOOKMARKS_DB": str(tmp_path / "bookmarks.sqlite3"), "BOOKMARKS_API_KEY": secrets.token_urlsafe(24),
           "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
    server = launch(path, project.kind, app=project.app, name="django-health", quiet=True, timeout=30, env=env)
    try:
        assert server.get("health", timeout=30).json() == {"status": "ok"}  # the worker has loaded Django
        assert server.request("HEAD", "/health").status_code == 200
        for method in REFUSED:
            answer = server.request(method, "/health")
            assert answer.status_code == 405, (method, answer.status_code, answer.text[:200])
            assert answer.headers.get("Allow") == "GET, HEAD", method
            assert answer.json()["error"] == "method_not_allowed", method
    finally:
        server.stop()
