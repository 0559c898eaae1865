"""Lab 04, ASGI by hand: one app checked in-process (message order) and under a real uvicorn.

In-process runs go through coursekit.asgi_driver, on an event loop of their own in the kernel's main
thread: an answer that blocks the loop is named and stopped, and leaves nothing running.
"""
import asyncio
import importlib.util
import re
import secrets
import time

from coursekit.checks import CheckFailed, exchange, exercise, shown
from coursekit.servers import REQUEST_SECONDS
from coursekit.asgi_driver import (run_coroutine, run_http, run_lifespan, run_websocket,
                                   sleep_watched)

APP = "apps/lab04_app.py"
SECONDS = 3  # how long an in-process run may take
SSE_SHAPE = "    data: 1\\n\n    \\n       (an empty line ends each event)\n    data: 2\\n\n    \\n\n    ..."


def load(t):
    """Import the student's app file afresh, as a module of the kernel, for in-process parts."""
    with t.part(f"{APP} imports", hint="Run the %%writefile cell first; fix the error shown below.",
                required=True):
        spec = importlib.util.spec_from_file_location("lab04_app_checked", APP)
        module = importlib.util.module_from_spec(spec)
        with sleep_watched():  # so that `from time import sleep` is noticed in async code too
            spec.loader.exec_module(module)
    return module


def under_uvicorn(t, **options):
    """Launch the app under uvicorn, once every in-process part passed (each of those failures
    would fail here too, and more slowly)."""
    if t.passed < len(t.results):
        with t.part("the parts under uvicorn", required=True):
            raise CheckFailed("the parts above to pass first", "not run yet", hint="")
    return t.launch(APP, "uvicorn", **options)


def obeys_asgi(result):
    """Turn what the in-process run saw into a plain failure: a rule broken (recorded first, so it
    comes before the hang it may have caused), a blocked event loop, a hang, an exception."""
    if result.problems:  # each sentence names the rule and the fix: no other hint is needed
        raise CheckFailed("messages that follow the ASGI rules", result.problems[0], hint="")
    if result.blocked:
        raise CheckFailed("an app that never blocks the event loop", result.blocked[0], hint="")
    if isinstance(result.error, TimeoutError):
        raise CheckFailed("an answer within the deadline", str(result.error))
    if result.error is not None:
        raise result.error


def sse_events(chunks):
    """The events in an event stream, as the HTML standard's parser sees them: [(index of the body
    message that completed it, data)]. An event counts only once an empty line ends it."""
    events, data, pending = [], [], ""
    for index, chunk in enumerate(chunks):
        pending += bytes(chunk).decode("utf-8", "replace")
        *lines, pending = re.split(r"\r\n|\r(?!$)|\n", pending)  # a lone \r at the end may
        for line in lines:                                          # be half of \r\n
            if line == "":
                if data:
                    events.append((index, "\n".join(data)))
                data = []
                continue
            name, colon, value = line.partition(":")
            if name == "data":
                data.append(value[1:] if value.startswith(" ") else value)
    return events


def expect_events(t, chunks, wanted):
    """Expect events whose data are `wanted`, showing the first bytes when the stream is wrong."""
    got = [data for _, data in sse_events(chunks)]
    if got != wanted:
        raise CheckFailed(f"{len(wanted)} events, data {', '.join(wanted)}, shaped like\n{SSE_SHAPE}",
                          f"events {got}, from these first bytes:\n{shown(b''.join(chunks))}")


@exercise("4.1")
def routing(t):
    module = load(t)
    with t.part("home() answers 200 with a body, in two messages in order",
                hint="Use send_text(send, 200, ...): it sends http.response.start, then the body."):
        result = run_http(module.home, path="/", timeout=SECONDS)
        obeys_asgi(result)
        t.equal(result.status, 200)
        t.expect(result.body, "a body that is not empty", repr(result.body))
    with t.part("not_found() answers 404", hint="The status is an int: 404."):
        result = run_http(module.not_found, path="/nowhere", timeout=SECONDS)
        obeys_asgi(result)
        t.equal(result.status, 404)
    with t.part("app sends an unknown path to not_found (in-process)",
                hint="In app(), look up scope['path'] in ROUTES; use not_found when it is missing."):
        result = run_http(module.app, path="/no/such/page", timeout=SECONDS)
        obeys_asgi(result)
        t.equal(result.status, 404)
    server = under_uvicorn(t)
    with t.part("GET / answers 200 under uvicorn",
                hint="Fix the in-process parts first; then check that app() awaits the handler "
                     "it found (a 500 means the app raised or sent messages out of order)."):
        t.equal(server.get("/").status_code, 200)
    with t.part("GET /no/such/page answers 404 under uvicorn"):
        t.equal(server.get("/no/such/page").status_code, 404)


@exercise("4.2")
def json_body(t):
    module = load(t)
    chunks = [b'{"num', b'bers": [4, 8', b', 15, 16', b', 23, 42]}']
    with t.part("read_body() joins a body that arrives in 4 messages", required=True,
                hint="Call receive() in a loop, add each message's 'body', stop when more_body is False."):
        queue = [{"type": "http.request", "body": c, "more_body": i < 3} for i, c in enumerate(chunks)]

        async def receive():
            if not queue:
                await asyncio.Event().wait()  # a read after the last chunk would wait forever
            return queue.pop(0)

        body, error, _ = run_coroutine(lambda: module.read_body(receive), timeout=3)
        if isinstance(error, TimeoutError):
            raise CheckFailed("read_body() to return after the message with more_body False",
                              "it kept calling receive()")
        if error is not None:
            raise error
        t.equal(body, b"".join(chunks))
    with t.part("POST /sum in 4 chunks answers 200 {\"sum\": 108} (in-process)",
                hint="Read the whole body with read_body(receive) before json.loads."):
        result = run_http(module.sum_numbers, "POST", "/sum", body_chunks=chunks, timeout=SECONDS)
        obeys_asgi(result)
        t.equal((result.status, result.body.decode("utf-8", "replace")), (200, '{"sum": 108}'))
    with t.part("the answer is labelled application/json",
                hint="Pass the JSON media type as send_text's content_type."):
        t.media_type(result, "application/json")
    with t.part("a body that is not JSON answers 400, not a crash",
                hint="Catch ValueError (json.loads) and KeyError, and answer 400."):
        result = run_http(module.sum_numbers, "POST", "/sum", body_chunks=[b"not json"],
                          timeout=SECONDS)
        obeys_asgi(result)
        t.equal(result.status, 400)
    server = under_uvicorn(t)
    with t.part("POST /sum streamed in pieces over HTTP answers {\"sum\": 6}",
                hint="If the in-process parts pass, look at app()'s routing from exercise 4.1."):
        def pieces():
            for piece in (b'{"numbers"', b': [1, 2', b', 3]}'):
                time.sleep(0.05)  # separate TCP segments, so uvicorn delivers separate messages
                yield piece

        response = server.post("/sum", data=pieces())
        t.equal((response.status_code, response.text), (200, '{"sum": 6}'))


@exercise("4.3")
def lifespan_state(t):
    module = load(t)
    state = {}
    with t.part("lifespan answers startup and shutdown, in order",
                hint="Loop on receive(); answer lifespan.startup with lifespan.startup.complete, "
                     "lifespan.shutdown with lifespan.shutdown.complete, then return."):
        result = run_lifespan(module.lifespan, state, timeout=SECONDS)
        obeys_asgi(result)
        t.equal([m["type"] for m in result.messages],
                ["lifespan.startup.complete", "lifespan.shutdown.complete"])
    with t.part("startup stores a str in scope['state']['greeting']",
                hint="Set scope['state']['greeting'] before sending lifespan.startup.complete."):
        got = state.get("greeting")
        t.expect(isinstance(got, str) and got, "a non-empty str",
                 repr(got) if "greeting" in state else "no 'greeting' key in the state")
    with t.part("greeting() answers with the text in scope['state']['greeting']",
                hint="Read the text from scope['state'], not from a literal in the handler."):
        marker = f"state says {secrets.token_hex(4)}"
        result = run_http(module.greeting, path="/greeting", state={"greeting": marker},
                          timeout=SECONDS)
        obeys_asgi(result)
        t.equal(result.body.decode("utf-8", "replace"), marker)
    server = under_uvicorn(t, args=["--lifespan", "on"])
    with t.part("GET /greeting under uvicorn answers the greeting set at startup",
                hint="uvicorn runs lifespan first and copies its state into every request's scope."):
        response = server.get("/greeting")
        t.equal((response.status_code, response.text),
                (200, state.get("greeting", "the greeting set at startup")))


@exercise("4.4")
def server_sent_events(t):
    module = load(t)
    with t.part("/events answers 200 text/event-stream, messages in order", required=True,
                hint="Start with status 200 and a content-type header of text/event-stream."):
        result = run_http(module.events, path="/events", timeout=SECONDS)
        obeys_asgi(result)
        t.equal(result.status, 200)
        t.media_type(result, "text/event-stream")
    chunks = [bytes(m.get("body", b"")) for m in result.body_messages]
    with t.part("the events carry data 1, 2 and 3, each ended by an empty line",
                hint="An event is a line 'data: N' and then an empty line: a browser's EventSource "
                     "delivers nothing until that empty line comes."):
        expect_events(t, chunks, ["1", "2", "3"])
    with t.part("each event goes out in a body message of its own (a stream)",
                hint="Send one http.response.body per event with more_body True; the last message "
                     "(more_body False) may carry the last event or nothing."):
        sources = {index for index, _ in sse_events(chunks)}
        t.expect(len(sources) >= 3, "the events in 3 different body messages",
                 f"{len(sources)} message(s) holding events")
    server = under_uvicorn(t)
    with t.part("a client reads the 3 events from uvicorn as they come",
                hint="If the in-process parts pass, look at app()'s routing from exercise 4.1."):
        received = exchange(server, b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                    b"Connection: close\r\n\r\n", seconds=REQUEST_SECONDS)
        head, _, body = received.partition(b"\r\n\r\n")
        t.expect(head.startswith(b"HTTP/1.1 200"), "200 OK", shown(head[:200]) or "no answer")
        chunked = re.search(rb"(?im)^transfer-encoding:[ \t]*chunked", head)
        expect_events(t, [dechunk(body) if chunked else body], ["1", "2", "3"])


def dechunk(body):
    """The bytes of a chunked transfer-coded body (uvicorn streams with it)."""
    data = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        try:
            length = int(size.split(b";")[0], 16)
        except ValueError:
            break
        if length == 0:
            break
        data, body = data + rest[:length], rest[length + 2:]
    return data


@exercise("4.5")
def websocket_echo(t):
    module = load(t)
    with t.part("echo accepts, then sends each text back (in-process)",
                hint="Answer websocket.connect with websocket.accept; answer each "
                     "websocket.receive with a websocket.send of the same text."):
        result = run_websocket(module.echo, ["hello", "again"], path="/echo", timeout=SECONDS)
        obeys_asgi(result)
        t.equal([m.get("text") for m in result.messages if m["type"] == "websocket.send"],
                ["hello", "again"])
    server = under_uvicorn(t)
    with t.part("a WebSocket client at /echo gets its messages back under uvicorn",
                hint="uvicorn refuses or drops the connection when echo() raises, returns early "
                     "or sends before websocket.accept; the in-process part above says which."):
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        url = f"ws://127.0.0.1:{server.port}/echo"
        try:
            with connect(url, open_timeout=REQUEST_SECONDS, close_timeout=2) as ws:
                replies = []
                for text in ("ping", "Grüße"):
                    ws.send(text)
                    replies.append(ws.recv(timeout=REQUEST_SECONDS))
        except (WebSocketException, TimeoutError, OSError) as error:
            raise CheckFailed("an open connection that echoes", f"{type(error).__name__}: {error}")
        t.equal(replies, ["ping", "Grüße"])


# ----- 4.6: behind a proxy prefix (root_path), and binary frames, under a real uvicorn ------

PREFIX = "/user/student/proxy/8000"  # what a JupyterHub proxy puts in front of every path


@exercise("4.6")
def proxy_prefix_and_binary(t):
    import requests

    server = t.launch(APP, "uvicorn", args=["--root-path", PREFIX, "--lifespan", "on"])
    for method, path, expected in (("GET", "/", 200), ("GET", "/greeting", 200),
                                   ("GET", "/nowhere", 404)):
        with t.part(f"{method} {path} answers {expected} when uvicorn runs with --root-path {PREFIX}",
                    hint="uvicorn puts the prefix in front of scope['path'] (the ASGI spec says so); "
                         "route on route_path(scope), which strips scope['root_path']."):
            response = requests.request(method, server.url + path.lstrip("/"), timeout=REQUEST_SECONDS)
            t.expect(response.status_code == expected, str(expected),
                     f"{response.status_code} {response.text[:60]!r}")
    with t.part("a binary WebSocket frame comes back binary, byte for byte",
                hint="A websocket.receive holds 'bytes' or 'text': answer bytes with "
                     "{'type': 'websocket.send', 'bytes': ...}."):
        from websockets.exceptions import InvalidStatus, WebSocketException
        from websockets.sync.client import connect

        try:
            with connect(f"ws://127.0.0.1:{server.port}/echo", open_timeout=REQUEST_SECONDS,
                         close_timeout=2) as ws:
                ws.send(b"\x00\x01\xfe\xff")
                reply = ws.recv(timeout=REQUEST_SECONDS)
        except InvalidStatus as error:  # refused before any frame: the route, not the frames
            raise CheckFailed("an open connection that echoes", f"{type(error).__name__}: {error}",
                              hint="The WebSocket at /echo was refused behind the prefix: route "
                                   "WebSocket scopes on route_path(scope) too.") from None
        except (WebSocketException, TimeoutError, OSError) as error:
            raise CheckFailed("an open connection that echoes", f"{type(error).__name__}: {error}")
        t.equal(reply, b"\x00\x01\xfe\xff")
