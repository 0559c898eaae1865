"""Lab 03's in-kernel checks: every wsgiref.validate complaint a student can cause gets plain words."""
import pytest

from coursekit.checks import CheckFailed
from coursekit.labs.lab03 import call, in_plain_words


def app_with(status="200 OK", headers=None, body=None):
    """An app that answers with exactly what it is given (to break one rule at a time)."""
    def app(environ, start_response):
        start_response(status, [("Content-Type", "text/plain")] if headers is None else headers)
        return [b"ok"] if body is None else body
    return app


def no_start_response(environ, start_response):
    return [b"ok"]


def returns_none(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])


BROKEN = [
    (returns_none, "returned None"),
    (app_with(body=b"ok"), "not the str or bytes itself"),
    (app_with(body=["text"]), "must be bytes"),
    (no_start_response, "before you return the body"),
    (app_with(status=200), "must be a str such as '200 OK'"),
    (app_with(status="OK"), "three-digit code"),
    (app_with(status="200"), "needs a reason"),
    (app_with(headers={"Content-Type": "text/plain"}), "not a dict"),
    (app_with(headers=[["Content-Type", "text/plain"]]), "must be a tuple"),
    (app_with(headers=[("Content-Type", "text/plain"), ("Content-Length", 2)]), "str(len(body))"),
    (app_with(headers=[]), "needs a Content-Type"),
]


@pytest.mark.parametrize("app, words", BROKEN, ids=[w for _, w in BROKEN])
def test_each_broken_rule_is_explained_in_plain_words(app, words):
    with pytest.raises(CheckFailed) as failed:
        call(app, "/")
    assert words in failed.value.got
    assert "[wsgiref.validate:" in failed.value.got


def test_a_correct_app_passes_and_its_reply_is_readable():
    reply = call(app_with(), "/")
    assert (reply.status_code, reply.content, reply.text) == (200, b"ok", "ok")
    assert reply.headers["content-type"] == reply.headers["Content-Type"] == "text/plain"


def test_unknown_messages_fall_back_to_a_general_explanation():
    assert in_plain_words("something new").startswith("the response breaks a rule of PEP 3333")
