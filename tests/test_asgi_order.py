"""coursekit.asgi_order catches each broken ASGI rule with a hint, and lets a correct app pass."""
import asyncio
import time

import pytest

from coursekit.asgi_driver import run_http, run_in_thread, run_lifespan, run_websocket
from coursekit.asgi_order import ASGIOrderError, OrderChecker

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


# --- The rules the checker gained, as one table: each app breaks one rule, or none ------------

def ws_app_sending(*messages):
    """A websocket app that accepts (unless told not to) and then sends exactly `messages`."""
    async def app(scope, receive, send):
        await receive()
        for message in messages:
            await send(message)
        while (await receive())["type"] != "websocket.disconnect":
            pass
    return app


async def app_denying(scope, receive, send):
    await receive()
    await send({"type": "websocket.http.response.start", "status": 403, "headers": []})
    await send({"type": "websocket.http.response.body", "body": b"no"})


ACCEPT = {"type": "websocket.accept"}
BAD = [
    ("upper-case header name", app_sending(dict(START, headers=[(b"Content-Type", b"x")]), BODY),
     "http", "lower-case"),
    ("CR/LF in a header value",
     app_sending(dict(START, headers=[(b"x-note", b"a\r\nset-cookie: x=1")]), BODY), "http",
     "response splitting"),
    ("status above 599", app_sending(dict(START, status=600), BODY), "http", "between 100 and 599"),
    ("status below 100", app_sending(dict(START, status=42), BODY), "http", "between 100 and 599"),
    ("pathsend not advertised", app_sending(START, {"type": "http.response.pathsend", "path": "/x"}),
     "http", "did not advertise"),
    ("websocket.send with both", ws_app_sending(ACCEPT, {"type": "websocket.send", "text": "a",
                                                         "bytes": b"a"}), "ws", "both"),
    ("websocket.send with neither", ws_app_sending(ACCEPT, {"type": "websocket.send"}), "ws",
     "neither"),
    ("text given as bytes", ws_app_sending(ACCEPT, {"type": "websocket.send", "text": b"a"}), "ws",
     "a text frame holds str"),
    ("bytes given as str", ws_app_sending(ACCEPT, {"type": "websocket.send", "bytes": "a"}), "ws",
     "a binary frame holds bytes"),
    ("close code not an int", ws_app_sending(ACCEPT, {"type": "websocket.close", "code": "1000"}),
     "ws", "must be an int"),
    ("denial response not advertised", app_denying, "ws", "did not advertise"),
]


@pytest.mark.parametrize("name, app, kind, words", BAD, ids=[b[0] for b in BAD])
def test_each_broken_rule_is_named(name, app, kind, words):
    result = run_http(app) if kind == "http" else run_websocket(app, [])
    only_problem(result, words)


def drive(app, scope, incoming):
    """Run `app` under an OrderChecker with a scripted receive(); return (checker, sent)."""
    checker, sent, queue = OrderChecker(app), [], list(incoming)

    async def receive():
        if queue:
            return queue.pop(0)
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    _, error = run_in_thread(lambda: checker(scope, receive, send), 3)
    assert error is None, error
    return checker, sent


def test_client_leaving_a_stream_is_not_a_problem():
    async def stream(scope, receive, send):
        await send(START)
        await send({"type": "http.response.body", "body": b"data: 1\n\n", "more_body": True})
        assert (await receive())["type"] == "http.request"
        assert (await receive())["type"] == "http.disconnect"  # the client left: stop streaming

    checker, _ = drive(stream, {"type": "http"}, [{"type": "http.request", "body": b""},
                                                  {"type": "http.disconnect"}])
    assert checker.problems == []


def test_advertised_extensions_are_allowed():
    pathsend = app_sending(START, {"type": "http.response.pathsend", "path": "/etc/hostname"})
    checker, _ = drive(pathsend, {"type": "http", "extensions": {"http.response.pathsend": {}}},
                       [{"type": "http.request", "body": b""}])
    assert checker.problems == []
    denial = ws_app_sending({"type": "websocket.http.response.start", "status": 403, "headers": []},
                            {"type": "websocket.http.response.body", "body": b"no"})
    checker, _ = drive(denial, {"type": "websocket",
                                "extensions": {"websocket.http.response": {}}},
                       [{"type": "websocket.connect"}, {"type": "websocket.disconnect"}])
    assert checker.problems == []


def test_headers_given_as_a_generator_reach_the_server():
    headers = [(b"content-type", b"text/plain"), (b"x-one", b"1")]
    app = app_sending(dict(START, headers=(pair for pair in headers)), BODY)
    checker, sent = drive(app, {"type": "http"}, [{"type": "http.request", "body": b""}])
    assert checker.problems == []
    assert list(sent[0]["headers"]) == headers  # the checker did not use them up


def test_overlapping_connections_each_keep_their_problems():
    """A checker that wraps a whole app sees requests overlap, as under a server: the first
    request's problem is still reported after the second has finished, named by its connection."""
    checker = OrderChecker(app_of_two_requests())

    async def two_at_once():
        await asyncio.gather(checker(request_scope("/first"), empty_body, ignore),
                             checker(request_scope("/second"), empty_body, ignore))

    _, error = run_in_thread(two_at_once, 3)
    assert error is None
    assert len(checker.problems) == 2, checker.problems
    first, second = checker.problems
    assert first.startswith("connection 1 (http GET /first): 'status' is '200 OK'"), first
    assert second.startswith("connection 2 (http GET /second): 'body' is a str"), second
    assert [len(c.messages) for c in checker.connections] == [2, 2]


def test_connections_one_after_another_keep_their_problems_too():
    checker = OrderChecker(app_of_two_requests(wait=False))

    async def one_then_the_other():
        await checker(request_scope("/first"), empty_body, ignore)
        await checker(request_scope("/second"), empty_body, ignore)

    _, error = run_in_thread(one_then_the_other, 3)
    assert error is None
    assert [p.split(":")[0] for p in checker.problems] == ["connection 1 (http GET /first)",
                                                          "connection 2 (http GET /second)"]


def app_of_two_requests(wait=True):
    """/first breaks a rule at once and finishes only after /second (which breaks another) is done."""
    second_done = asyncio.Event()

    async def app(scope, receive, send):
        await receive()
        if scope["path"] == "/first":
            await send(dict(START, status="200 OK"))
            if wait:
                await second_done.wait()
            await send(BODY)
        else:
            await send(START)
            await send({"type": "http.response.body", "body": "text"})
            second_done.set()
    return app


def request_scope(path):
    return {"type": "http", "method": "GET", "path": path}


async def empty_body():
    return {"type": "http.request", "body": b""}


async def ignore(message):
    pass


# --- Under a real server: Starlette, FastAPI and Django apps under uvicorn, checked per connection

SERVED = r'''
import asyncio
from pathlib import Path

import django
from django.conf import settings

settings.configure(DEBUG=False, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, MIDDLEWARE=[],
                   SECRET_KEY="only-for-a-test")
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import FileResponse, PlainTextResponse, StreamingResponse  # noqa: E402
from starlette.routing import Mount, Route, WebSocketRoute  # noqa: E402

from coursekit.asgi_order import OrderChecker  # noqa: E402

urlpatterns = [path("django/", lambda request: HttpResponse("from Django"))]
django_app = get_asgi_application()
api = FastAPI()


@api.get("/items/{number}")
def item(number: int):
    return {"number": number}


async def ticks(request):
    async def events():
        number = 0
        while True:
            number += 1
            yield f"data: {number}\n\n"
            await asyncio.sleep(0.02)
    return StreamingResponse(events(), media_type="text/event-stream")


async def echo(websocket):
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await websocket.send_bytes(message["bytes"])
        else:
            await websocket.send_text(message["text"])


async def denied(websocket):
    await websocket.send_denial_response(PlainTextResponse("not you", status_code=403))


async def broken(scope, receive, send):  # a known-bad app: the checker must see it here too
    await send({"type": "http.response.start", "status": 200, "headers": [(b"X-Bad", b"1")]})
    await send({"type": "http.response.body", "body": b"bad"})


starlette_app = Starlette(routes=[
    Route("/ticks", ticks), Route("/file", lambda request: FileResponse(Path(__file__))),
    WebSocketRoute("/echo", echo), WebSocketRoute("/denied", denied), Mount("/api", api)])


async def app(scope, receive, send):
    where = scope.get("path", "")
    inner = (broken if where == "/broken" else django_app if where.startswith("/django/")
             else starlette_app)
    checker = OrderChecker(inner)  # one per connection
    try:
        await checker(scope, receive, send)
    finally:
        for problem in checker.problems:
            print(f"PROBLEM {scope['type']} {where}: {problem}", flush=True)
        print(f"CHECKED {scope['type']} {where}", flush=True)
'''


@pytest.mark.servers
def test_no_false_positives_under_uvicorn(tmp_path):
    import requests
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    from coursekit.servers import launch

    (tmp_path / "served.py").write_text(SERVED)
    server = launch(tmp_path / "served.py", kind="uvicorn", name="asgi-order-served", quiet=True)
    try:
        assert server.get("/api/items/7").json() == {"number": 7}
        assert server.get("/django/").text == "from Django"
        assert server.get("/file").status_code == 200
        assert server.get("/broken").status_code == 200
        with requests.get(server.url + "ticks", stream=True, timeout=5) as stream:
            assert next(stream.iter_lines()).startswith(b"data:")  # then the client leaves
        url = f"ws://127.0.0.1:{server.port}"
        with connect(url + "/echo", open_timeout=5, close_timeout=5) as ws:
            ws.send(b"\x01binary")
            assert ws.recv(timeout=5) == b"\x01binary"
        with pytest.raises(InvalidStatus) as denial:
            connect(url + "/denied", open_timeout=5)
        assert denial.value.response.status_code == 403
        time.sleep(0.5)  # let the stream notice the client left
    finally:
        server.stop()
    log = server.log_path.read_text()
    problems = [line for line in log.splitlines() if line.startswith("PROBLEM")]
    checked = {line.split(" ", 2)[2] for line in log.splitlines() if line.startswith("CHECKED")}
    assert {"/api/items/7", "/django/", "/file", "/ticks", "/echo", "/denied"} <= checked, log
    assert any("/broken" in p and "lower-case" in p for p in problems), log  # the wiring works
    # Django 5.2's ASGI handler sends header names as set in Python ("Content-Type"), which the
    # ASGI spec forbids in http.response.start; that rule, and only that, is reported for it.
    others = [p for p in problems if "/broken" not in p
              and not ("/django/" in p and "lower-case" in p)]
    assert others == [], "\n".join(others)


def test_the_rules_do_not_import_the_driver_back():
    """asgi_driver uses the checker; the checker needs nothing from the driver (no import cycle)."""
    import ast
    from pathlib import Path

    import coursekit.asgi_order

    tree = ast.parse(Path(coursekit.asgi_order.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
    assert not {name for name in imported if name and name.startswith("coursekit")}, imported
    assert not hasattr(coursekit.asgi_order, "run_http"), "import run_http from coursekit.asgi_driver"
