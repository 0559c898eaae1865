"""coursekit.inprocess and coursekit.asgi_driver: apps called in the kernel answer in a server's response shape, and an app
that blocks or hangs is named and stopped, leaving no thread, task or loop behind."""
import asyncio
import threading
import time
import warnings

import pytest

from coursekit.asgi_driver import run_http, run_websocket, sleep_watched
from coursekit.inprocess import WSGIRuleBroken, call_wsgi


def json_wsgi(environ, start_response):
    start_response("201 Created", [("Content-Type", "application/json"), ("Set-Cookie", "a=1"),
                                   ("Set-Cookie", "b=2")])
    return [b'{"path": "', environ["PATH_INFO"].encode(), b'"}']


async def json_asgi(scope, receive, send):
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"path": "' + scope["path"].encode() + b'"}'})


def test_wsgi_and_asgi_answer_in_the_same_shape():
    for response in (call_wsgi(json_wsgi, "/x"), run_http(json_asgi, path="/x")):
        assert (response.status_code, response.json(), response.text) == (201, {"path": "/x"},
                                                                          '{"path": "/x"}')
        assert response.headers["Content-Type"] == response.headers.get("content-type")
    assert call_wsgi(json_wsgi, "/").headers.getlist("set-cookie") == ["a=1", "b=2"]


def test_only_a_broken_wsgi_rule_is_one_and_the_apps_own_warnings_pass_through():
    def deprecated(environ, start_response):  # Django 5.2 warns like this about a URLField
        warnings.warn("The default scheme will change", DeprecationWarning)
        return json_wsgi(environ, start_response)

    with pytest.warns(DeprecationWarning, match="default scheme"):
        assert call_wsgi(deprecated, "/x").json() == {"path": "/x"}

    def str_body(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["text, not bytes"]

    def bare_status(environ, start_response):  # wsgiref.validate warns (WSGIWarning) on this one
        start_response("200", [("Content-Type", "text/plain")])
        return [b"no reason phrase"]

    for app in (str_body, bare_status):
        with pytest.raises(WSGIRuleBroken):
            call_wsgi(app)


async def sleeps_in_async(scope, receive, send):
    time.sleep(0.05)  # the mistake: it stops the whole event loop
    await json_asgi(scope, receive, send)


def test_time_sleep_inside_async_code_is_named():
    result = run_http(sleeps_in_async)
    assert result.status_code == 201
    assert "time.sleep(0.05) ran inside async code" in result.blocked[0]


def test_sleep_imported_by_name_is_named_too(tmp_path):
    import importlib.util

    path = tmp_path / "sleepy.py"
    path.write_text("from time import sleep\n\nasync def app(scope, receive, send):\n    sleep(0.02)\n"
                    "    await send({'type': 'http.response.start', 'status': 200})\n"
                    "    await send({'type': 'http.response.body'})\n")
    spec = importlib.util.spec_from_file_location("sleepy", path)
    module = importlib.util.module_from_spec(spec)
    with sleep_watched():
        spec.loader.exec_module(module)
    assert "time.sleep(0.02)" in run_http(module.app).blocked[0]


async def spins(scope, receive, send):
    while True:  # never awaits: no other task runs again
        pass


def test_a_loop_without_await_is_stopped_and_leaves_no_thread():
    before = threading.active_count()
    started = time.monotonic()
    result = run_http(spins, timeout=0.5)
    assert time.monotonic() - started < 3
    assert isinstance(result.error, TimeoutError) and "blocks the event loop" in str(result.error)
    assert threading.active_count() == before


async def waits_forever(scope, receive, send):
    await asyncio.Event().wait()


def test_an_app_that_awaits_forever_is_cancelled():
    result = run_http(waits_forever, timeout=0.5)
    assert isinstance(result.error, TimeoutError) and "waiting on receive()" in str(result.error)


def test_it_runs_inside_a_notebook_whose_loop_is_already_running():
    async def cell():  # what a kernel does: the cell's code runs while a loop is running
        return run_http(json_asgi, path="/in-a-cell")

    assert asyncio.run(cell()).json() == {"path": "/in-a-cell"}


async def sends_before_accept(scope, receive, send):
    await receive()
    await send({"type": "websocket.send", "text": "too early"})
    while (await receive())["type"] != "websocket.disconnect":
        pass


def test_a_recorded_rule_break_ends_the_run_at_once_rather_than_in_a_timeout():
    started = time.monotonic()
    result = run_websocket(sends_before_accept, ["hello"], timeout=5)
    assert "before websocket.accept" in result.problems[0]
    assert result.error is None
    assert time.monotonic() - started < 3  # the client gave up on the app, not the deadline


# --- Streams that do not end by themselves: the client leaves once it has read enough -------------

def lesson_sse_app(tmp_path):
    """Lesson 04's server-sent events app, taken from the notebook's %%writefile cell."""
    import importlib.util
    from pathlib import Path

    import nbformat

    lesson = Path(__file__).resolve().parent.parent / "notebooks" / "04-asgi-by-hand.ipynb"
    source = next(c.source for c in nbformat.read(lesson, as_version=4).cells
                  if c.source.startswith("%%writefile apps/asgi_sse.py"))
    path = tmp_path / "asgi_sse.py"
    path.write_text(source.partition("\n")[2])
    spec = importlib.util.spec_from_file_location("asgi_sse", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def test_the_lessons_endless_sse_stream_is_read_and_then_left(tmp_path, capsys):
    result = run_http(lesson_sse_app(tmp_path), path="/ticks", max_events=3, timeout=5)
    assert (result.error, result.problems, result.client_left) == (None, [], True)
    assert result.status_code == 200 and result.headers["content-type"] == "text/event-stream"
    assert result.text.startswith("data: tick 1\n\ndata: tick 2\n\ndata: tick 3\n\n")
    assert "client left after 3 ticks" in capsys.readouterr().out  # the app heard http.disconnect
    assert "client_left=True" in repr(result)


async def never_listens(scope, receive, send):
    """An endless stream that never calls receive(): only a failing send() tells it the client left."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    number = 0
    while True:
        number += 1
        await send({"type": "http.response.body", "body": f"data: {number}\n\n".encode(),
                    "more_body": True})
        await asyncio.sleep(0.01)


def test_an_app_that_never_listens_is_told_by_send_and_not_blamed():
    result = run_http(never_listens, until=lambda body: b"data: 2\n\n" in body, timeout=5)
    assert (result.error, result.problems, result.client_left) == (None, [], True)
    assert result.text == "data: 1\n\ndata: 2\n\n"


def test_without_max_events_an_endless_stream_is_reported_as_a_stream():
    result = run_http(never_listens, timeout=0.5)
    assert isinstance(result.error, TimeoutError)
    assert "still streaming" in str(result.error) and "max_events" in str(result.error)
    assert "receive()" not in str(result.error)  # the app is not blamed for a missing message


def test_a_response_that_ends_before_max_events_is_simply_complete():
    result = run_http(json_asgi, path="/x", max_events=3)
    assert (result.error, result.problems, result.client_left, result.status_code) == (None, [], False, 201)
