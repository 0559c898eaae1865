"""A request body sent chunked (Transfer-Encoding: chunked, no Content-Length) to Django under a WSGI
server: the decision of issue 30, pinned. Django reads a body only as long as CONTENT_LENGTH says
(WSGI's rule), so it never sees a chunked body; the contract's docstring allows refusing it with
400 or 411 and asks only that the answer is the error shape, never a 201 of an empty item or a 500."""
import json
import secrets

import pytest

from coursekit.servers import launch
from test_contract import IMPLEMENTATIONS

DJANGO = next(i for i in IMPLEMENTATIONS if i.id == "django")


def chunks(body):
    yield body[:10]
    yield body[10:]


@pytest.mark.servers
def test_a_chunked_body_is_refused_in_the_error_shape_and_nothing_is_stored(tmp_path):
    path = DJANGO.prepare(tmp_path)
    key = secrets.token_urlsafe(24)
    server = launch(path, DJANGO.kind, app=DJANGO.app, name="django-chunked", quiet=True, timeout=30,
                    env={"BOOKMARKS_DB": str(tmp_path / "bookmarks.sqlite3"), "BOOKMARKS_API_KEY": key})
    try:
        server.get("health", timeout=30)  # the worker has loaded Django
        body = json.dumps({"url": "https://example.org/chunked", "title": "Sent chunked"}).encode()
        answer = server.request("POST", "/api/bookmarks", data=chunks(body),
                                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        assert answer.request.headers.get("Transfer-Encoding") == "chunked"
        assert answer.status_code in (400, 411), (answer.status_code, answer.text)
        assert answer.json()["error"] in ("malformed_json", "length_required"), answer.text
        assert server.get("/api/bookmarks").json()["total"] == 0
    finally:
        server.stop()
