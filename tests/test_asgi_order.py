"""coursekit.asgi_order catches each broken ASGI rule with a hint, and lets a correct app pass."""
import asyncio
import time

import pytest

from coursekit.asgi_order import (ASGIOrderError, OrderChecker, run_http, run_in_thread,
                                  run_lifespan, run_websocket)

START = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
BODY = {"type": "http.response.body", "body": b"ok"}


def app_sending(*messages):
    """An http app that reads the whole request and then sends exactly `messages`."""
    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        for message in messages:
            await send(message)
    return app


async def good_app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                scope["state"]["ready"] = True
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (message := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": message["text"]})
    else:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send(START)
        await send({"type": "http.response.body", "body": body[:2], "more_body": True})
        await send({"type": "http.response.body", "body": body[2:]})


def only_problem(result, *words):
    assert result.error is None, result.error
    assert len(result.problems) == 1, result.problems
    for word in words:
        assert word in result.problems[0], result.problems[0]


def test_a_correct_app_passes_every_scope():
    http = run_http(good_app, "POST", "/", body_chunks=[b"he", b"ll", b"o"])
    assert (http.problems, http.error, http.status, http.body) == ([], None, 200, b"hello")
    assert http.headers == {"content-type": "text/plain"}
    assert len(http.body_messages) == 2
    state = {}
    life = run_lifespan(good_app, state)
    assert (life.problems, life.error, state) == ([], None, {"ready": True})
    assert [m["type"] for m in life.messages] == ["lifespan.startup.complete",
                                                  "lifespan.shutdown.complete"]
    ws = run_websocket(good_app, ["a", "b"])
    assert (ws.problems, ws.error) == ([], None)
    assert [m.get("text") for m in ws.messages] == [None, "a", "b"]


def test_body_before_start():
    only_problem(run_http(app_sending(BODY)), "before http.response.start")


def test_start_sent_twice():
    only_problem(run_http(app_sending(START, START, BODY)), "twice")


def test_message_after_the_final_body():
    only_problem(run_http(app_sending(START, BODY, BODY)), "after the response was complete")


def test_status_must_be_an_int():
    only_problem(run_http(app_sending(dict(START, status="200 OK"), BODY)), "int", "'200 OK'")


@pytest.mark.parametrize("headers", [
    {"content-type": "text/plain"},
    [("content-type", "text/plain")],
    [(b"content-type",)],
])
def test_headers_must_be_a_list_of_byte_pairs(headers):
    only_problem(run_http(app_sending(dict(START, headers=headers), BODY)), "b'content-type'")


def test_body_must_be_bytes():
    only_problem(run_http(app_sending(START, dict(BODY, body="ok"))), "bytes", ".encode()")


def test_returning_without_a_response():
    only_problem(run_http(app_sending()), "without sending http.response.start")


def test_returning_with_more_body_still_true():
    only_problem(run_http(app_sending(START, dict(BODY, more_body=True))), "more_body False")


def test_unknown_message_type():
    only_problem(run_http(app_sending(START, {"type": "http.response.end"}, BODY)),
                 "'http.response.end'")


def test_lifespan_startup_not_answered():
    async def app(scope, receive, send):
        await receive()

    only_problem(run_lifespan(app), "without answering lifespan.startup")


def test_lifespan_answered_with_the_wrong_message():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    only_problem(run_lifespan(app), "'lifespan.startup.complete'")


def test_lifespan_message_sent_before_receiving():
    async def app(scope, receive, send):
        await send({"type": "lifespan.startup.complete"})

    assert "Call receive() first" in run_lifespan(app).problems[0]


def test_websocket_send_before_accept():
    async def app(scope, receive, send):
        await receive()
        await send({"type": "websocket.send", "text": "hi"})

    only_problem(run_websocket(app, []), "before websocket.accept")


def test_an_exception_in_the_app_is_returned_not_raised():
    async def app(scope, receive, send):
        raise ValueError("boom")

    result = run_http(app)
    assert isinstance(result.error, ValueError) and str(result.error) == "boom"


def test_an_app_that_awaits_forever_is_stopped_at_the_deadline():
    async def app(scope, receive, send):
        while True:
            await receive()  # after the body and no response, nothing more ever arrives

    result = run_http(app, timeout=0.3)
    assert isinstance(result.error, TimeoutError) and "receive()" in str(result.error)


def test_an_app_that_blocks_the_loop_is_reported_at_the_deadline():
    async def app(scope, receive, send):
        time.sleep(1.5)

    started = time.monotonic()
    result = run_http(app, timeout=0.2)
    assert time.monotonic() - started < 1.4
    assert isinstance(result.error, TimeoutError) and "block" in str(result.error)


def test_strict_mode_raises_at_the_faulty_send():
    checker = OrderChecker(app_sending(BODY), strict=True)

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    _, error = run_in_thread(lambda: checker({"type": "http"}, receive, send), 2)
    assert isinstance(error, ASGIOrderError) and "before http.response.start" in str(error)


def test_runs_while_an_event_loop_is_already_running():
    async def inside_a_running_loop():  # as in a notebook cell
        return run_http(good_app, "POST", "/", body_chunks=[b"x"])

    result = asyncio.run(inside_a_running_loop())
    assert (result.status, result.body, result.problems) == (200, b"x", [])


def test_returning_without_answering_is_caught_for_lifespan_and_websocket():
    async def silent(scope, receive, send):
        return None

    only_problem(run_lifespan(silent), "without answering lifespan.startup")
    only_problem(run_websocket(silent, ["hi"]), "without accepting")
