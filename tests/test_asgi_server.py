"""Lesson 04's hand-written ASGI server serves, unmodified, the lesson's apps and a FastAPI app over real HTTP.

The server (seven files) and the apps are taken from the %%writefile cells of the lesson notebook, so the
test checks exactly the code that students read. Responses read off raw sockets are parsed by h11, a
strict HTTP/1.1 client the course did not write. The last tests break a copy of the server on purpose
and show that the checks here notice.
"""
import json
import socket
import time
from pathlib import Path

import h11
import pytest

from coursekit.servers import ServerError, launch
from test_conformance import written_files  # `%%writefile` cells, `-a` included

pytestmark = pytest.mark.servers

LESSON = Path(__file__).resolve().parent.parent / "notebooks" / "04-asgi-by-hand.ipynb"
SERVER = ["asgi_http.py", "asgi_receive.py", "asgi_send.py", "asgi_connection.py", "asgi_frames.py",
          "asgi_websocket.py", "asgi_server.py"]
APPS = ["asgi_scope.py", "asgi_body.py", "asgi_lifespan.py", "asgi_sse.py", "asgi_ws.py",
        "asgi_middleware.py", "asgi_site.py", "asgi_fastapi_sample.py"]
SECONDS = 5


@pytest.fixture
def lesson_apps(tmp_path):
    files = written_files(LESSON)
    missing = [name for name in SERVER + APPS if name not in files]
    assert not missing, f"the lesson no longer writes {missing}"
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    return tmp_path


def serve(folder, target, name=None):
    return launch(folder / "asgi_server.py", kind="script", args=[target],
                  name=name or f"test-{target.replace(':', '-')}", quiet=True)


# --- A strict client on a raw socket ---------------------------------------------------------------

class Wire:
    """One TCP connection; requests go out as raw bytes, responses are parsed by h11."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SECONDS)
        self.parser = h11.Connection(h11.CLIENT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def response(self, method="GET"):
        """(status, {header: value}, body) of the next response; AssertionError if it is cut off."""
        if self.parser.our_state is h11.DONE and self.parser.their_state is h11.DONE:
            self.parser.start_next_cycle()
        self.parser.send(h11.Request(method=method, target="/", headers=[("Host", "x")]))
        self.parser.send(h11.EndOfMessage())
        deadline, start, body = time.monotonic() + SECONDS, None, b""
        while True:
            try:
                event = self.parser.next_event()
            except h11.RemoteProtocolError as error:
                raise AssertionError(f"an incomplete or malformed response: {error}") from None
            if event is h11.NEED_DATA:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    self.parser.receive_data(self.sock.recv(65536))
                except TimeoutError:
                    raise AssertionError(f"no complete response within {SECONDS} s") from None
            elif isinstance(event, h11.Response):
                start = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                headers = {n.decode(): v.decode("latin-1") for n, v in start.headers}
                return start.status_code, headers, body
            elif isinstance(event, h11.ConnectionClosed):
                raise AssertionError("the connection closed without a response")


def get(path, *headers):
    lines = [f"GET {path} HTTP/1.1", "Host: x", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- Checks, each used on the lesson's server and on a broken copy ----------------------------------

def check_keep_alive(server):
    """Three requests on one connection, one after another, then two sent at once (pipelined)."""
    with Wire(server.port) as wire:
        for _ in range(3):
            wire.sock.sendall(get("/hello/Ada"))
            status, headers, body = wire.response()
            assert status == 200 and b"Ada" in body, (status, body)
            assert headers.get("connection") != "close", "the server closed a keep-alive connection"
        wire.sock.sendall(get("/hello/one") + get("/hello/two"))
        assert b"one" in wire.response()[2] and b"two" in wire.response()[2]


def check_chunked_response(server):
    """A streamed response without a length arrives in chunks and is complete."""
    with Wire(server.port) as wire:
        wire.sock.sendall(get("/count"))
        status, headers, body = wire.response()
    assert status == 200 and headers.get("transfer-encoding") == "chunked", headers
    assert body == b"1\n2\n3\n", body


def check_body_in_pieces(server):
    """A chunked upload with pauses reaches the app whole, in more than one http.request message."""
    with Wire(server.port) as wire:
        wire.sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"a" * 1000, b"b" * 1000, b"c" * 1000):
            time.sleep(0.1)
            wire.sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        wire.sock.sendall(b"0\r\n\r\n")
        status, _, body = wire.response("POST")
    report = json.loads(body)
    assert status == 200 and report["bytes"] == 3000, report
    assert report["messages"] > 1, f"the body reached the app in one message: {report}"


def check_websocket_echo(server):
    """The lesson's echo over a WebSocket: text and binary frames, a large one, and a clean close."""
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    try:
        with connect(f"ws://127.0.0.1:{server.port}/echo", open_timeout=SECONDS,
                     close_timeout=SECONDS) as ws:
            for message in ["hello", "ünïcödé", b"\x00\xffbinary", "x" * 70_000]:
                ws.send(message)
                assert ws.recv(timeout=SECONDS) == message
    except (WebSocketException, TimeoutError) as error:
        raise AssertionError(f"the WebSocket failed: {error!r}") from None


# --- The lesson's server serves the lesson's apps and FastAPI ---------------------------------------

def test_serves_fastapi_unmodified_with_its_lifespan(lesson_apps):
    server = serve(lesson_apps, "asgi_fastapi_sample:app")
    hello = server.get("/hello/Ada", params={"q": "x"})
    assert hello.status_code == 200, server.log_path.read_text()
    assert hello.json() == {"framework": "FastAPI", "message": "Hello, Ada!", "query": "x"}
    assert server.post("/echo", json={"n": [1, 2]}).json() == {"received": {"n": [1, 2]}}
    assert server.post("/echo", data=b"not json",
                       headers={"Content-Type": "application/json"}).status_code == 422
    assert server.get("/nothing").status_code == 404
    check_keep_alive(server)
    check_chunked_response(server)
    server.stop()
    log = server.log_path.read_text()
    assert "FastAPI: startup" in log and "FastAPI: shutdown" in log, log
    assert "Traceback" not in log, log


def test_serves_the_lessons_scope_and_body_apps(lesson_apps):
    scope_app = serve(lesson_apps, "asgi_scope:app")
    fields = scope_app.get("/books/caf%C3%A9?page=2").json()
    assert fields["path"] == "/books/café" and fields["query_string"] == "b'page=2'", fields
    assert fields["http_version"] == "1.1" and "host" in fields["header names"], fields
    assert "lifespan: not supported" in scope_app.log_path.read_text()  # it raises for lifespan
    check_body_in_pieces(serve(lesson_apps, "asgi_body:app"))


def test_runs_lifespan_and_shares_its_state(lesson_apps):
    server = serve(lesson_apps, "asgi_lifespan:app")
    numbers = [server.get("/").json()["request"] for _ in range(3)]
    assert numbers == [1, 2, 3], numbers
    server.stop()
    log = server.log_path.read_text()
    assert "shutdown after 3 requests" in log, log


def test_server_sent_events_stop_when_the_client_leaves(lesson_apps):
    server = serve(lesson_apps, "asgi_sse:app")
    events = []
    with server.get("/ticks", stream=True, timeout=SECONDS) as response:
        assert response.headers["content-type"] == "text/event-stream"
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                events.append(line)
            if len(events) == 3:
                break
    assert events == ["data: tick 1", "data: tick 2", "data: tick 3"]
    assert "client left after" in server.wait_for_log("client left", timeout=SECONDS)


def test_serves_the_middleware_site(lesson_apps):
    server = serve(lesson_apps, "asgi_site:app")
    home = server.get("/")
    assert home.status_code == 200 and home.json()["request"] == 1
    assert home.headers["x-content-type-options"] == "nosniff" and "x-response-time" in home.headers
    echoed = server.post("/echo", data=b"twelve bytes")
    assert echoed.content == b"twelve bytes" and echoed.headers["x-request-bytes"] == "12"
    boom = server.get("/boom")
    assert boom.status_code == 500 and boom.text == "Internal Server Error\n"
    with Wire(server.port) as wire:
        wire.sock.sendall(get("/boom-late"))
        with pytest.raises(AssertionError, match="incomplete"):
            wire.response()  # the start went out, the body never completes: the client can tell


def test_serves_the_lessons_websocket_app(lesson_apps):
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    server = serve(lesson_apps, "asgi_ws:app")
    check_websocket_echo(server)
    url = f"ws://127.0.0.1:{server.port}/chat"
    with connect(f"{url}?name=ada", open_timeout=SECONDS, close_timeout=SECONDS) as ada:
        assert ada.recv(timeout=SECONDS) == "ada joined"
        with connect(f"{url}?name=grace", open_timeout=SECONDS, close_timeout=SECONDS) as grace:
            assert grace.recv(timeout=SECONDS) == "grace joined"
            assert ada.recv(timeout=SECONDS) == "grace joined"  # pushed, unasked
            grace.send("hi")
            assert ada.recv(timeout=SECONDS) == "grace: hi"
        assert ada.recv(timeout=SECONDS) == "grace left"
    with pytest.raises(InvalidStatus, match="403"):  # the app answers websocket.close: refused
        with connect(f"ws://127.0.0.1:{server.port}/nowhere", open_timeout=SECONDS):
            pass
    assert server.get("/").status_code == 404  # plain HTTP on the same server still works


def test_an_app_whose_startup_fails_is_not_served(tmp_path, lesson_apps):
    (lesson_apps / "fails_startup.py").write_text(
        "async def app(scope, receive, send):\n"
        "    await receive()\n"
        "    await send({'type': 'lifespan.startup.failed', 'message': 'no database'})\n")
    with pytest.raises(ServerError, match="no database"):
        serve(lesson_apps, "fails_startup:app")


def test_http10_gets_no_chunks_and_a_close(lesson_apps):
    server = serve(lesson_apps, "asgi_fastapi_sample:app")
    with socket.create_connection(("127.0.0.1", server.port), timeout=SECONDS) as sock:
        sock.sendall(b"GET /count HTTP/1.0\r\n\r\n")
        raw = b""
        while chunk := sock.recv(65536):  # the server closes: that ends the body
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding" not in head.lower() and body == b"1\n2\n3\n", raw


# --- A broken copy of the server fails these checks -------------------------------------------------

BREAKS = {
    "no keep-alive": ("asgi_receive.py", 'self.keep_alive = version == "HTTP/1.1" and not wants_close',
                      "self.keep_alive = False", "asgi_fastapi_sample:app", check_keep_alive),
    "no last chunk": ("asgi_send.py", 'await self.write(b"0\\r\\n\\r\\n")', "pass",
                      "asgi_fastapi_sample:app", check_chunked_response),
    "a wrong Sec-WebSocket-Accept": ("asgi_websocket.py", 'GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"',
                                     'GUID = "not-the-rfc-guid"', "asgi_ws:app", check_websocket_echo),
    "unmasked frames read as they are": ("asgi_frames.py", "bytes(byte ^ mask[i % 4] for i, byte in "
                                         "enumerate(payload))", "payload", "asgi_ws:app",
                                         check_websocket_echo),
    "the body in one message": ("asgi_receive.py", 'return {"type": "http.request", "body": piece, '
                                '"more_body": True}',
                                'return {"type": "http.request", "body": piece, "more_body": False}',
                                "asgi_body:app", check_body_in_pieces),
}


@pytest.mark.parametrize("defect", BREAKS)
def test_a_broken_copy_fails_the_checks(lesson_apps, defect):
    file, good, bad, target, check = BREAKS[defect]
    source = (lesson_apps / file).read_text()
    assert good in source, f"{file} no longer holds {good!r}: update this test"
    check(serve(lesson_apps, target, name="test-intact"))  # passes on the lesson's code
    (lesson_apps / file).write_text(source.replace(good, bad))
    with pytest.raises(AssertionError):
        check(serve(lesson_apps, target, name="test-broken"))


def test_a_server_without_lifespan_state_cannot_run_fastapi(lesson_apps):
    """Starlette refuses a lifespan that yields state when the scope has none: the server's state matters."""
    file = lesson_apps / "asgi_server.py"
    source = file.read_text()
    good = 'scope = {"type": "lifespan", "asgi": ASGI, "state": self.state}'
    assert good in source
    file.write_text(source.replace(good, 'scope = {"type": "lifespan", "asgi": ASGI}'))
    with pytest.raises(ServerError):
        serve(lesson_apps, "asgi_fastapi_sample:app", name="test-stateless")
