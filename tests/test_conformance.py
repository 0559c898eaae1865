"""Every hand-written HTTP server of the course obeys the specs it teaches.

One table of cases, each naming its RFC or PEP section, is applied to every server it concerns:
lesson 01's final socket server, lab 01's reference solution, the CGI gateways of lesson 02 and
lab 02, the WSGI servers of lesson 03 and lab 03, lesson 03's sample site and lab 03's Router (as
apps, under wsgiref), lesson 04's hand-written ASGI server, and lesson 04's ASGI apps under real uvicorn.
The servers are taken from the `%%writefile` cells of the notebooks (found by file name), so the
test checks exactly the code that students read. Requests go out as raw bytes (so that malformed
ones can be sent); every response is parsed by h11, a strict client the course did not write.
"""
import json
import runpy
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import h11
import nbformat
import pytest

from coursekit import servers
from coursekit.asgi_driver import run_http
from coursekit.servers import launch

pytestmark = pytest.mark.servers

ROOT = Path(__file__).resolve().parent.parent
SECONDS = 4  # the longest a case waits for any one answer


def written_files(notebook):
    """{path under apps/: source} for every `%%writefile apps/...` cell of a notebook.

    A `%%writefile -a apps/...` cell appends to the file, as the magic does (lesson 01 writes its
    long server in three cells).
    """
    files = {}
    for cell in nbformat.read(ROOT / notebook, as_version=4).cells:
        first, _, rest = cell.source.partition("\n")
        if cell.cell_type == "code" and first.startswith("%%writefile apps/"):
            files[first.split("apps/", 1)[1].strip()] = rest + "\n"
        elif cell.cell_type == "code" and first.startswith("%%writefile -a apps/"):
            name = first.split("apps/", 1)[1].strip()
            files[name] = files.get(name, "") + rest + "\n"
    return files


# --- Apps and scripts the test adds beside the servers -------------------------------------------

WSGI_APP = r'''
"""A WSGI app that exercises each PEP 3333 duty of the server that runs it."""
import json
import sys


class Closing:
    """A body that is not a generator (so that only an explicit close() closes it, never the garbage
    collector) and logs how it ended: `close() TAG after SENT of PIECES`."""

    def __init__(self, tag, pieces, fail_at):
        self.tag, self.pieces, self.fail_at, self.sent = tag, pieces, fail_at, 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.sent == self.fail_at:
            raise RuntimeError("the body failed half-way")
        if self.sent == self.pieces:
            raise StopIteration
        self.sent += 1
        return b"x" * 65536

    def close(self):
        print(f"close() {self.tag} after {self.sent} of {self.pieces}", file=sys.stderr, flush=True)


def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/echo":
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    if path == "/environ":
        body = json.dumps({k: v for k, v in environ.items() if isinstance(v, str)}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written, ")
        return [b"returned"]
    if path == "/fail-early":
        raise RuntimeError("the app failed before start_response")
    if path == "/fail-late":
        def pieces():
            yield b"a first piece"
            raise RuntimeError("the app failed in the middle of its body")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return pieces()
    if path == "/twice":
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"a second start_response was accepted"]
    if path == "/exc-info":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("changed my mind")
        except ValueError:
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                           sys.exc_info())
        return [b"replaced"]
    if path == "/split":
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("X-Note", "a\r\nSet-Cookie: stolen=1")])
        return [b"split"]
    if path in ("/204", "/304"):
        start_response(path[1:] + (" No Content" if path == "/204" else " Not Modified"), [])
        return [b"a body that must not be sent"]
    if path == "/empty-first":
        def pieces():
            start_response("200 OK", [("Content-Type", "text/plain")])
            yield b""  # no body bytes yet: the head must not have gone out
            try:
                raise ValueError("changed my mind after an empty piece")
            except ValueError:
                start_response("500 Internal Server Error", [("Content-Type", "text/plain")],
                               sys.exc_info())
            yield b"replaced"
        return pieces()
    if path == "/closing":
        query = dict(pair.split("=") for pair in environ["QUERY_STRING"].split("&"))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return Closing(query["tag"], int(query["pieces"]), int(query.get("fail", -1)))
    if path == "/no-start":
        return [b"a body without a status: start_response was never called"]
    if path == "/not-latin1":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Drink", "\u2615 coffee")])
        return [b"a header value that latin-1 cannot encode"]
    if path == "/overlong":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"abc", b" and 31 bytes more than it said"]
    if path == "/hop":
        name, _, value = environ["QUERY_STRING"].partition("=")
        start_response("200 OK", [("Content-Type", "text/plain"), (name, value)])
        return [b"an app that set a hop-by-hop header"]
    if path == "/":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "6")])
        return [b"hello\n"]
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "10")])
    return [b"not found\n"]
'''

ASGI_APP = r'''
"""An ASGI app for lesson 04's hand-written ASGI server: / answers, /echo sends the body back."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        raise NotImplementedError(scope["type"])  # no lifespan: the server must carry on
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    if scope["path"] == "/echo":
        status, answer, kind = 200, body, b"application/octet-stream"
    elif scope["path"] == "/":
        status, answer, kind = 200, b"hello\n", b"text/plain"
    else:
        status, answer, kind = 404, b"not found\n", b"text/plain"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})
'''

CGI_SCRIPTS = {
    "conf": 'import os, sys\n'
            'body = sys.stdin.buffer.read(int(os.environ.get("CONTENT_LENGTH") or 0))\n'
            'sys.stdout.buffer.write(b"Content-Type: application/octet-stream\\r\\n\\r\\n" + body)\n',
    "confenv": 'import json, os\n'
               'print("Content-Type: application/json")\n'
               'print()\n'
               'print(json.dumps(dict(os.environ)))\n',
    "conflocal": 'print("Location: /cgi-bin/conf")\nprint()\n',
    "confstatus": 'print("Status: 2000 Much Better")\nprint("Content-Type: text/plain")\nprint()\n'
                  'print("a status with four digits")\n',
    "confframe": 'print("Content-Type: text/plain")\nprint("Transfer-Encoding: chunked")\n'
                 'print("Keep-Alive: timeout=99")\nprint()\nprint("framed by the gateway")\n',
}

# Lab 03's Router is a class in a code cell, not a file: served as an app with one route.
ROUTER_ROUTES = '''

app = Router()


@app.route("/")
def home(environ):
    return "home\\n"
'''


def lab03_router(notebook):
    """lab03_router.py: the solution's Router cell, its imports, and an app with a GET route."""
    cells = nbformat.read(ROOT / notebook, as_version=4).cells
    router = next(c.source for c in cells if c.cell_type == "code" and "class Router" in c.source)
    return "import re\n" + router + ROUTER_ROUTES


# --- The servers under test ----------------------------------------------------------------------

@dataclass
class Subject:
    """One server of the course, how to start it, and the paths the cases use."""
    name: str
    notebook: str
    file: str
    tags: set
    get: str = "/"
    echo: str = ""
    kind: str = "script"
    args: list = field(default_factory=list)
    cgi_scripts: str = ""  # where CGI scripts go: "cgi_{}.py" or "lab02_scripts/{}.py"
    streams: bool = False  # GET on `get` never ends (server-sent events)
    extra: dict = field(default_factory=dict)  # {file name: function(notebook) -> its source}


HTTP, CGI, WSGI, ASGI = "http", "cgi", "wsgi", "asgi"
# APP: a WSGI app of the course (not a server), served by wsgiref: only what the app owes is tested.
APP = "app"
# FRAMING: the server keeps all of RFC 9112's request framing rules that the cases tagged with it test
# (which transfer codings it refuses and with what status, no 1xx to an HTTP/1.0 client). Every
# hand-written server that reads requests itself carries it.
FRAMING = "framing"
LESSON01, LESSON02 = "notebooks/01-http-from-the-socket-up.ipynb", "notebooks/02-cgi-and-why-the-web-moved-on.ipynb"
LESSON03, LESSON04 = "notebooks/03-wsgi-by-hand.ipynb", "notebooks/04-asgi-by-hand.ipynb"
SUBJECTS = [
    Subject("lesson01", LESSON01, "http_server.py", {HTTP, FRAMING}, echo="/echo"),
    Subject("lab01", "solutions/01-solution-http-from-the-socket-up.ipynb", "lab01_server.py",
            {HTTP, FRAMING}, echo="/echo"),
    Subject("lesson02", LESSON02, "cgi_gateway.py", {HTTP, CGI, FRAMING}, get="/cgi-bin/hello",
            echo="/cgi-bin/conf", cgi_scripts="cgi_{}.py"),
    Subject("lab02", "solutions/02-solution-cgi-and-why-the-web-moved-on.ipynb", "lab02_gateway.py",
            {HTTP, CGI, FRAMING}, get="/cgi-bin/hello", echo="/cgi-bin/conf",
            cgi_scripts="lab02_scripts/{}.py"),
    Subject("lesson03", LESSON03, "wsgi_server.py", {HTTP, WSGI, FRAMING}, echo="/echo",
            args=["conformance_wsgi:app"]),
    Subject("lab03", "solutions/03-solution-wsgi-by-hand.ipynb", "lab03_server.py", {HTTP, WSGI, FRAMING},
            echo="/echo", args=["conformance_wsgi:app"]),
    Subject("lesson03-site", LESSON03, "wsgi_site.py", {APP}, kind="wsgiref"),
    Subject("lab03-router", "solutions/03-solution-wsgi-by-hand.ipynb", "lab03_router.py", {APP},
            kind="wsgiref", extra={"lab03_router.py": lab03_router}),
    Subject("lesson04-server", LESSON04, "asgi_server.py", {HTTP, ASGI, FRAMING}, echo="/echo",
            args=["conformance_asgi:app"]),
    Subject("lesson04-scope", LESSON04, "asgi_scope.py", {ASGI}, kind="uvicorn"),
    Subject("lesson04-body", LESSON04, "asgi_body.py", {ASGI}, kind="uvicorn"),
    Subject("lesson04-lifespan", LESSON04, "asgi_lifespan.py", {ASGI}, kind="uvicorn",
            args=["--lifespan", "on"]),
    Subject("lesson04-sse", LESSON04, "asgi_sse.py", {ASGI}, get="/ticks", kind="uvicorn",
            streams=True),
    Subject("lesson04-adapter", LESSON04, "asgi_wsgi_adapter.py", {ASGI}, kind="uvicorn"),
    Subject("lab04", "solutions/04-solution-asgi-by-hand.ipynb", "lab04_app.py", {ASGI}, kind="uvicorn"),
]


@pytest.fixture(autouse=True)
def no_servers_left_behind():
    """Servers here live for the whole module (see `started`); conftest's per-test stop is replaced."""
    yield


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """{subject name: running Server}, each started once, on first use."""
    running = {}

    def start(subject):
        if subject.name not in running:
            folder = tmp_path_factory.mktemp(subject.name)
            for name, source in written_files(subject.notebook).items():
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                (folder / name).write_text(source)
            for name, make in subject.extra.items():
                (folder / name).write_text(make(subject.notebook))
            assert (folder / subject.file).exists(), f"{subject.notebook} no longer writes {subject.file}"
            (folder / "conformance_wsgi.py").write_text(WSGI_APP)
            (folder / "conformance_asgi.py").write_text(ASGI_APP)
            if subject.cgi_scripts:
                for name, source in CGI_SCRIPTS.items():
                    (folder / subject.cgi_scripts.format(name)).write_text(source)
            running[subject.name] = launch(folder / subject.file, kind=subject.kind,
                                           args=subject.args, name=f"conformance-{subject.name}",
                                           env={"CGI_DEADLINE": "2"}, quiet=True)
        return running[subject.name]

    yield start
    servers.stop_all()


# --- A strict client on a raw socket -------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: dict  # lower-case name -> list of values
    body: bytes
    version: str
    informational: list

    def header(self, name):
        return ", ".join(self.headers.get(name, []))


class Wire:
    """A raw TCP connection: send any bytes, read responses as h11 (a strict client) parses them."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=SECONDS)
        self.parser = h11.Connection(h11.CLIENT)

    def close(self):
        self.sock.close()

    def send(self, raw):
        self.sock.sendall(raw)

    def response(self, method="GET", version="1.1", timeout=SECONDS):
        """The next response, parsed strictly; None if the server closed without one."""
        parser = self.parser
        if parser.our_state is h11.DONE and parser.their_state is h11.DONE:
            parser.start_next_cycle()
        if parser.their_state is not h11.IDLE:
            return None  # the server announced it closes the connection: no further response
        # h11 must know the request's method (HEAD has no body) to read the answer. It only
        # sends HTTP/1.1; an HTTP/1.0 request is told to it as 1.1 with `Connection: close`.
        close = [("Connection", "close")] if version == "1.0" else []
        parser.send(h11.Request(method=method, target="/", headers=[("Host", "x"), *close]))
        parser.send(h11.EndOfMessage())
        deadline = time.monotonic() + timeout
        got_bytes = bool(parser.trailing_data[0])
        start, body, informational = None, b"", []
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as error:
                if not got_bytes:
                    return None  # closed without a single byte of answer
                raise AssertionError(f"a malformed or incomplete response: {error}") from None
            if event is h11.NEED_DATA:
                data = self._receive(deadline)
                got_bytes = got_bytes or bool(data)
                parser.receive_data(data)
            elif isinstance(event, h11.InformationalResponse):
                informational.append(event.status_code)
            elif isinstance(event, h11.Response):
                start = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                headers = {}
                for name, value in start.headers:
                    headers.setdefault(name.decode(), []).append(value.decode("latin-1"))
                return Response(start.status_code, headers, body, start.http_version.decode(),
                                informational)
            elif isinstance(event, h11.ConnectionClosed):
                return None

    def _receive(self, deadline):
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"no complete answer within {SECONDS} s") from None
        except ConnectionResetError:
            return b""

    def closes(self, wait=SECONDS):
        """Does the server close the connection (without sending more) within `wait` seconds?"""
        extra = self.parser.trailing_data[0]
        assert not extra, f"bytes after the response, as if a second request was served: {extra[:60]!r}"
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True
        assert not data, f"bytes after the response, as if a second request was served: {data[:60]!r}"
        return True


def exchange(server, raw, method="GET", version="1.1"):
    """Send raw bytes on a fresh connection and read one response (None if none came)."""
    wire = Wire(server.port)
    try:
        wire.send(raw)
        return wire.response(method, version)
    finally:
        wire.close()


def until_closed(server, raw):
    """Send raw bytes; return (status line, [header lines], body bytes) received until the server
    closes: read raw, so that a doubled header or a body a client would ignore is seen too."""
    received, wire = b"", Wire(server.port)
    try:
        wire.send(raw)
        deadline = time.monotonic() + SECONDS
        while chunk := wire._receive(deadline):
            received += chunk
    finally:
        wire.close()
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    return status_line, lines, body


def logged(server, word, before):
    """Does the server's log mention `word` more often than the `before` times it did, within SECONDS?"""
    deadline = time.monotonic() + SECONDS
    while log_text(server).count(word) <= before:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def log_text(server):
    return server.log_path.read_text(errors="replace") if server.log_path.exists() else ""


def request(method, target, headers=(("Host", "x"),), body=b"", version="1.1"):
    lines = [f"{method} {target} HTTP/{version}", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def status_of(response):
    return "no answer (closed)" if response is None else response.status


# --- The cases -------------------------------------------------------------------------------------

CASES = []


def case(category, section, applies=frozenset({HTTP})):
    """Add a case to the table: it runs against every server whose tags meet `applies`."""
    def register(function):
        CASES.append((category, section, set(applies), function))
        return function
    return register


@case("smuggling", "RFC 9112 6.1, 6.3")
def content_length_with_transfer_encoding(s, server):
    """A request with both Content-Length and Transfer-Encoding: 400, or TE wins and the connection closes."""
    if not s.echo:
        pytest.skip("no path that takes a body")
    hidden = b"GET /hidden HTTP/1.1\r\nHost: x\r\n\r\n"
    raw = request("POST", s.echo, [("Host", "x"), ("Content-Length", "5"),
                                   ("Transfer-Encoding", "chunked")], b"0\r\n\r\n" + hidden)
    wire = Wire(server.port)
    try:
        wire.send(raw)
        first = wire.response("POST")
        assert first is None or first.status == 400 or wire.closes(), (
            "the connection stayed open after an ambiguous body: the hidden request may be served")
        assert wire.response() is None, "the hidden second request was answered"
    finally:
        wire.close()


@case("long lines", "RFC 9110 15.5.15, RFC 6585 5")
def long_request_line(s, server):
    response = exchange(server, request("GET", "/" + "a" * 100_000))
    assert status_of(response) == 414, f"a 100 KB request line got {status_of(response)}, not 414"


@case("long lines", "RFC 6585 5, RFC 9112 5")
def long_header_line(s, server):
    response = exchange(server, request("GET", s.get, [("Host", "x"), ("X-Long", "a" * 100_000)]))
    assert status_of(response) == 431, f"a 100 KB header line got {status_of(response)}, not 431"


@case("long lines", "RFC 9112 2.2 (nothing is parsed from a cut line)")
def cut_line_never_parsed(s, server):
    """The tail of an over-long header line must not become a header (here a Content-Length)."""
    for size in (8192 - 20, 65536 - 20):
        pad = "a" * (size - len("X-Pad: "))
        raw = request("GET", s.get, [("Host", "x"), ("X-Pad", pad + "Content-Length: 40")])
        response = exchange(server, raw)
        assert status_of(response) in (200, 431, "no answer (closed)"), (
            f"a {size + 18}-byte header line got {status_of(response)}")


@case("HEAD", "RFC 9110 9.3.2", applies={HTTP, ASGI})
def head_is_get_without_body(s, server):
    wire = Wire(server.port)
    try:
        then = b"" if s.streams else request("GET", s.get, [("Host", "x"), ("Connection", "close")])
        wire.send(request("HEAD", s.get) + then)
        head = wire.response("HEAD")
        assert status_of(head) == 200, f"HEAD {s.get} got {status_of(head)}; GET gets 200"
        if wire.parser.their_state is h11.MUST_CLOSE:
            assert wire.closes(), "the connection stayed open after Connection: close"
        if then:
            then = wire.response("GET")  # a body after HEAD's head would spoil this one
            assert then is None or then.status == 200
    finally:
        wire.close()


@case("HEAD", "RFC 9110 9.3.2")
def refused_head_has_no_body(s, server):
    """An error answer to HEAD is still only a head: a body would be read as the next response."""
    wire = Wire(server.port)
    try:
        wire.send(request("HEAD", s.get, [("User-Agent", "x")]))  # no Host: refused with 400
        response = wire.response("HEAD")
        assert status_of(response) == 400, f"HEAD without Host got {status_of(response)}, not 400"
        extra = wire.parser.trailing_data[0]
        wire.sock.settimeout(0.5)
        try:
            extra += wire.sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            pass
        assert not extra, f"a body after the head of a refused HEAD: {extra[:60]!r}"
    finally:
        wire.close()


@case("Host", "RFC 9112 3.2")
def missing_host(s, server):
    response = exchange(server, request("GET", s.get, [("User-Agent", "x")]))
    assert status_of(response) == 400, f"HTTP/1.1 without Host got {status_of(response)}, not 400"


@case("Host", "RFC 9112 3.2")
def duplicate_host(s, server):
    response = exchange(server, request("GET", s.get, [("Host", "a"), ("Host", "b")]))
    assert status_of(response) == 400, f"two Host headers got {status_of(response)}, not 400"


@case("Host", "RFC 9112 3.2")
def http10_needs_no_host(s, server):
    response = exchange(server, request("GET", s.get, [], version="1.0"), version="1.0")
    assert status_of(response) == 200, f"HTTP/1.0 without Host got {status_of(response)}"


def bad_length(value):
    def check(s, server):
        if not s.echo:
            pytest.skip("no path that takes a body")
        lengths = value if isinstance(value, list) else [value]
        raw = request("POST", s.echo, [("Host", "x"), *(("Content-Length", v) for v in lengths)],
                      b"abc" + b"x" * 30)
        response = exchange(server, raw, "POST")
        assert status_of(response) == 400, f"Content-Length {value!r} got {status_of(response)}"
    check.__name__ = "content_length_" + ("two_values" if isinstance(value, list) else value)
    return check


for _value in ("-1", "abc", "3, 30", ["3", "30"], "+3"):
    case("Content-Length", "RFC 9112 6.3, RFC 9110 8.6")(bad_length(_value))


@case("Content-Length", "RFC 9112 6.3 (an incomplete message)")
def truncated_body(s, server):
    if not s.echo:
        pytest.skip("no path that takes a body")
    wire = Wire(server.port)
    try:
        wire.send(request("POST", s.echo, [("Host", "x"), ("Content-Length", "10")], b"abc"))
        wire.sock.shutdown(socket.SHUT_WR)
        response = wire.response("POST")
        assert response is None or response.status >= 400, (
            f"a body cut at 3 of 10 bytes was answered {response.status} (as if complete)")
    finally:
        wire.close()


@case("Content-Length", "RFC 9110 8.6 (the response's length is exact)", applies={HTTP, ASGI})
def response_length_exact(s, server):
    if s.streams:
        # An endless stream has no length, and a client never reads it to the end: in-process, the
        # client reads three events and leaves, and the stream must not have claimed a length.
        app = runpy.run_path(str(server.path))["app"]
        result = run_http(app, path=s.get, max_events=3, timeout=SECONDS)
        assert (result.error, result.problems, result.client_left) == (None, [], True)
        assert "content-length" not in result.headers, "an endless stream claimed a Content-Length"
        return
    response = exchange(server, request("GET", s.get, [("Host", "x"), ("Connection", "close")]))
    assert response is not None and response.status == 200
    if "content-length" in response.headers:
        assert response.header("content-length") == str(len(response.body))


@case("chunked", "RFC 9112 7.1, 6.3")
def chunked_request_body(s, server):
    """A chunked body is decoded, or refused with 411/501 and the connection closed: never lost."""
    if not s.echo:
        pytest.skip("no path that takes a body")
    wire = Wire(server.port)
    try:
        wire.send(request("POST", s.echo, [("Host", "x"), ("Transfer-Encoding", "chunked")],
                          b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"))
        response = wire.response("POST")
        assert response is not None, "no answer to a chunked request"
        if response.status in (411, 501):
            assert wire.closes(), f"refused with {response.status} but the connection stayed open"
        else:
            assert response.status == 200 and b"abcdefg" in response.body, (
                f"a chunked body was answered {response.status} with {response.body[:40]!r}")
    finally:
        wire.close()


def refused_then_closed(server, raw, method="POST"):
    """(status, whether the server closed the connection after answering) for one raw request."""
    wire = Wire(server.port)
    try:
        wire.send(raw)
        response = wire.response(method)
        assert response is not None, f"no answer to {raw[:60]!r}"
        return response.status, wire.closes()
    finally:
        wire.close()


@case("chunked", "RFC 9112 7.1, 6.1, 6.3 (411 for a body without a length; 501 is not for chunked)",
      applies={FRAMING})
def chunked_request_body_is_read_or_411(s, server):
    """A server that does not read chunked bodies says 411 Length Required, never 501.

    Every HTTP/1.1 recipient must understand chunked (RFC 9112 7.1), so 501 ("a transfer coding I
    do not understand", 6.1) would be false; 411 is the refusal RFC 9112 6.3 allows for a body
    sent without Content-Length, and it tells the client what to do instead.
    """
    wire = Wire(server.port)
    try:
        wire.send(request("POST", s.echo, [("Host", "x"), ("Transfer-Encoding", "chunked")],
                          b"3\r\nabc\r\n0\r\n\r\n"))
        response = wire.response("POST")
        assert response is not None, "no answer to a chunked request"
        if response.status != 200 or response.body != b"abc":
            assert response.status == 411, f"a chunked body was refused with {response.status}, not 411"
            assert wire.closes(), "refused with 411 but the connection stayed open"
    finally:
        wire.close()


@case("chunked", "RFC 9112 6.3 (chunked not last in a request: 400, then close), 6.1 (unknown: 501)",
      applies={FRAMING})
def transfer_codings_other_than_chunked(s, server):
    """Without chunked as the last coding a request's body has no end: 400 and close (a MUST).

    A coding the server cannot undo before chunked ("gzip, chunked") gets 501 (a SHOULD). 411
    would be wrong for both: a Content-Length alone does not make such a body readable.
    """
    for codings, expected in (("gzip", 400), ("chunked, gzip", 400), ("gzip, chunked", 501)):
        raw = request("POST", s.echo, [("Host", "x"), ("Transfer-Encoding", codings)],
                      b"3\r\nabc\r\n0\r\n\r\n")
        status, closed = refused_then_closed(server, raw)
        assert status == expected, f"Transfer-Encoding: {codings} got {status}, not {expected}"
        assert closed, f"Transfer-Encoding: {codings} was refused but the connection stayed open"


@case("Expect", "RFC 9110 10.1.1, 15.2 (an HTTP/1.0 client gets no 1xx)", applies={FRAMING})
def no_100_continue_for_http10(s, server):
    """An HTTP/1.0 client cannot read 100 Continue: the server ignores its Expect and waits."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=SECONDS) as sock:
        sock.sendall(request("POST", s.echo, [("Content-Length", "5"), ("Expect", "100-continue")],
                             version="1.0"))
        # The head alone, as a client that waits for 100 Continue would send it; the wait stays well
        # under lesson 01's 1 s deadline for a whole request, or the answer would be a 408.
        sock.settimeout(0.25)
        try:
            early = sock.recv(65536)
        except TimeoutError:
            early = b""
        assert b"100 Continue" not in early, f"an HTTP/1.0 client was sent {early[:40]!r}"
        sock.settimeout(SECONDS)
        sock.sendall(b"hello")
        received = early
        while chunk := sock.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200"), f"not one 200 answer: {received[:80]!r}"
    assert received.endswith(b"\r\n\r\nhello"), f"the body was not echoed: {received[-40:]!r}"


@case("HTTP/1.0", "RFC 9112 6.1, 9.3")
def http10_gets_no_chunks_and_a_close(s, server):
    paths = [s.get] + (["/count"] if s.name == "lesson01" else [])
    for path in paths:
        wire = Wire(server.port)
        try:
            wire.send(request("GET", path, [], version="1.0"))
            response = wire.response("GET", "1.0")
            assert response is not None and response.status == 200
            assert "chunked" not in response.header("transfer-encoding"), (
                f"an HTTP/1.0 client got a chunked response to {path}")
            assert wire.closes(), "the connection stayed open for an HTTP/1.0 client"
        finally:
            wire.close()


@case("Expect", "RFC 9110 10.1.1")
def expect_100_continue(s, server):
    if not s.echo:
        pytest.skip("no path that takes a body")
    wire = Wire(server.port)
    try:
        wire.send(request("POST", s.echo, [("Host", "x"), ("Content-Length", "5"),
                                           ("Expect", "100-continue")]))
        wire.sock.settimeout(SECONDS)
        try:
            first = wire.sock.recv(65536)
        except TimeoutError:
            raise AssertionError("neither 100 Continue nor a final status: client and server "
                                 "wait for each other") from None
        wire.parser.receive_data(first)
        assert not first.startswith(b"HTTP/1.1 408"), (
            "408: the server waited for a body the client was told to hold back")
        if first.startswith(b"HTTP/1.1 100"):
            wire.send(b"hello")
            response = wire.response("POST")
            assert response.status == 200 and response.body == b"hello"
    finally:
        wire.close()


@case("absolute-form", "RFC 9112 3.2.2")
def absolute_form_target(s, server):
    response = exchange(server, request("GET", f"http://x{s.get}"))
    assert status_of(response) == 200, f"an absolute-form target got {status_of(response)}"


@case("header syntax", "RFC 9112 5.2 (obs-fold)")
def folded_header(s, server):
    raw = (f"GET {s.get} HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n").encode()
    response = exchange(server, raw)
    assert status_of(response) == 400, f"a folded header line got {status_of(response)}, not 400"


@case("header syntax", "RFC 9112 2.2 (a bare CR is invalid, or replaced by SP)")
def bare_cr_in_header_value(s, server):
    """A bare CR inside a header value must not pass on: echoed into a response header, some clients
    read it as the end of a line, and the request would have written a header of its own."""
    raw = (f"POST {s.echo or s.get} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\rSet-Cookie: a=1\r\n"
           "Content-Length: 2\r\nConnection: close\r\n\r\nhi").encode()
    status_line, lines, _ = until_closed(server, raw)
    if " 400 " not in status_line + " ":
        assert not any("\r" in line for line in lines), f"a bare CR went back out: {lines}"


@case("header syntax", "RFC 9112 5.1 (no whitespace before the colon)")
def space_before_colon(s, server):
    raw = f"GET {s.get} HTTP/1.1\r\nHost: x\r\nX-Spaced : a\r\n\r\n".encode()
    response = exchange(server, raw)
    assert status_of(response) == 400, f"whitespace before a colon got {status_of(response)}"


@case("Date", "RFC 9110 6.6.1", applies={HTTP, ASGI})
def date_on_every_response(s, server):
    raws = [("HEAD" if s.streams else "GET", request("HEAD" if s.streams else "GET", s.get)),
            ("GET", request("GET", "/no-such-page-here"))]
    if HTTP in s.tags:
        raws.append(("GET", b"NONSENSE\r\n\r\n"))
    for method, raw in raws:
        response = exchange(server, raw, method)
        assert response is not None, f"no answer to {raw[:30]!r}"
        assert response.header("date"), f"no Date header on a {response.status} response"


@case("slow clients", "RFC 9112 9.3 (resources per connection)")
def slow_client_does_not_stall_others(s, server):
    slow = Wire(server.port)
    try:
        slow.send(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and then nothing, for a while
        started = time.monotonic()
        other = exchange(server, request("GET", s.get, [("Host", "x"), ("Connection", "close")]))
        waited = time.monotonic() - started
        assert status_of(other) == 200, f"another client got {status_of(other)}"
        assert waited < 3, f"another client waited {waited:.1f} s behind a slow one"
    finally:
        slow.close()


# PEP 3333 duties of the WSGI servers

def environ_for(server, headers):
    response = exchange(server, request("GET", "/environ", [("Host", "x"), *headers]))
    assert status_of(response) == 200, f"/environ got {status_of(response)}"
    return json.loads(response.body)


@case("PEP 3333", "PEP 3333: the write() callable", applies={WSGI})
def write_callable(s, server):
    response = exchange(server, request("GET", "/write"))
    assert response.status == 200 and response.body == b"written, returned", response


@case("PEP 3333", "PEP 3333: error handling (before headers: 500)", applies={WSGI})
def app_fails_before_headers(s, server):
    assert status_of(exchange(server, request("GET", "/fail-early"))) == 500


@case("PEP 3333", "PEP 3333: error handling (start_response never called: 500)", applies={WSGI})
def app_never_starts_response(s, server):
    response = exchange(server, request("GET", "/no-start"))
    assert status_of(response) == 500, f"an app that never called start_response got {status_of(response)}"


@case("PEP 3333", "PEP 3333: header values are latin-1 (one that is not: 500)", applies={WSGI})
def header_value_not_latin1(s, server):
    response = exchange(server, request("GET", "/not-latin1"))
    assert status_of(response) == 500, f"a header value latin-1 cannot encode got {status_of(response)}"


@case("PEP 3333", "PEP 3333 (never more than the app's Content-Length); RFC 9110 8.6", applies={WSGI})
def body_cut_at_content_length(s, server):
    before = log_text(server).count("Content-Length")
    status_line, _, body = until_closed(server, request("GET", "/overlong", [("Host", "x"),
                                                                             ("Connection", "close")]))
    assert status_line.startswith("HTTP/1.1 200"), status_line
    assert body == b"abc", f"{len(body)} bytes of body after Content-Length: 3: {body[:40]!r}"
    assert logged(server, "Content-Length", before), "the log does not say that the body was cut"


@case("PEP 3333", "PEP 3333 (no hop-by-hop headers from an app); RFC 9112 6.1", applies={WSGI})
def hop_by_hop_header_from_app(s, server):
    """The server frames the response: an app's Transfer-Encoding or Connection is refused (500) or
    dropped, never sent beside the server's own; the log says which."""
    for name, value in (("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"),
                        ("Keep-Alive", "timeout=99")):
        before = log_text(server).count(name)
        status_line, lines, _ = until_closed(server, request("GET", f"/hop?{name}={value}"))
        named = [line for line in lines if line.lower().startswith(name.lower() + ":")]
        if not status_line.startswith("HTTP/1.1 500"):
            assert len(named) <= 1, f"the app's {name} was sent beside the server's: {named}"
            assert name == "Transfer-Encoding" or not any(value in line for line in named), (
                f"the app's {name}: {value} reached the client")
        assert logged(server, name, before), f"the log does not mention the app's {name} header"


@case("PEP 3333", "PEP 3333: error handling (after headers: the response is cut)", applies={WSGI})
def app_fails_after_headers(s, server):
    try:
        response = exchange(server, request("GET", "/fail-late"))
    except AssertionError:
        return  # the client sees an incomplete response: right
    assert response is None, (
        f"a body that failed half-way was framed as complete: {response.status} {response.body!r}")


@case("PEP 3333", "PEP 3333: start_response called twice without exc_info", applies={WSGI})
def second_start_response(s, server):
    assert status_of(exchange(server, request("GET", "/twice"))) == 500


@case("PEP 3333", "PEP 3333: start_response with exc_info before the head is sent", applies={WSGI})
def exc_info_replaces_status(s, server):
    response = exchange(server, request("GET", "/exc-info"))
    assert status_of(response) == 500 and response.body == b"replaced"


@case("PEP 3333", "PEP 3333 environ; RFC 9110 5.3 (repeated fields joined by comma)", applies={WSGI})
def repeated_headers_joined(s, server):
    environ = environ_for(server, [("X-Multi", "a"), ("X-Multi", "b")])
    assert environ.get("HTTP_X_MULTI", "").replace(" ", "") == "a,b", environ.get("HTTP_X_MULTI")


@case("PEP 3333", "PEP 3333 environ (CGI names: an underscore is not a hyphen)", applies={WSGI, CGI})
def underscore_headers_not_mistaken(s, server):
    headers = [("X-User", "real"), ("X_User", "fake"), ("Content_Length", "5")]
    if CGI in s.tags:
        response = exchange(server, request("GET", "/cgi-bin/confenv", [("Host", "x"), *headers]))
        environ = json.loads(response.body)
    else:
        environ = environ_for(server, headers)
    assert environ.get("HTTP_X_USER") == "real", environ.get("HTTP_X_USER")
    assert environ.get("CONTENT_LENGTH", "") in ("", "0"), environ.get("CONTENT_LENGTH")


@case("PEP 3333", "PEP 3333: headers may not contain control characters (response splitting)",
      applies={WSGI})
def crlf_in_header_value(s, server):
    response = exchange(server, request("GET", "/split"))
    assert response is None or "set-cookie" not in response.headers, "an app's CR/LF split the head"
    assert status_of(response) in (500, "no answer (closed)")


@case("PEP 3333", "RFC 9110 15.3.5, 15.4.5 (no body in 204 and 304)", applies={WSGI})
def no_body_for_204_304(s, server):
    for path in ("/204", "/304"):
        wire = Wire(server.port)
        try:
            wire.send(request("GET", path, [("Host", "x"), ("Connection", "close")]))
            received = b""
            wire.sock.settimeout(SECONDS)
            while chunk := wire.sock.recv(65536):
                received += chunk
            head, _, rest = received.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 " + path[1:].encode()), head[:40]
            assert rest == b"", f"{path[1:]} with a body: {rest[:40]!r}"
        finally:
            wire.close()


@case("PEP 3333", "PEP 3333: headers wait for the first non-empty piece of the body", applies={WSGI})
def head_waits_for_a_non_empty_piece(s, server):
    """After an empty first piece nothing is sent, so exc_info may still replace the status."""
    response = exchange(server, request("GET", "/empty-first"))
    assert status_of(response) == 500 and response.body == b"replaced", (
        f"exc_info after an empty first piece got {status_of(response)}: the head went out too early")


def closed_after(server, tag):
    """How many pieces a Closing body had sent when the server called its close()."""
    line = server.wait_for_log(f"close() {tag} ", timeout=SECONDS * 3)
    return int(line.split(" after ")[1].split(" of ")[0])


@case("PEP 3333", "PEP 3333: close() after a complete body", applies={WSGI})
def close_after_complete_body(s, server):
    tag = uuid.uuid4().hex[:12]
    response = exchange(server, request("GET", f"/closing?tag={tag}&pieces=3"))
    assert status_of(response) == 200 and len(response.body) == 3 * 65536
    assert closed_after(server, tag) == 3


@case("PEP 3333", "PEP 3333: close() when the client leaves early", applies={WSGI})
def close_when_client_leaves(s, server):
    """The client reads the head and hangs up: the server's next send fails, and it must still close()."""
    tag = uuid.uuid4().hex[:12]
    wire = Wire(server.port)
    try:
        wire.send(request("GET", f"/closing?tag={tag}&pieces=2000"))  # 128 MB: more than any buffer
        wire.sock.settimeout(SECONDS)
        assert wire.sock.recv(65536).startswith(b"HTTP/1.1 200"), "no 200 head"
    finally:
        wire.close()  # with most of the body unread
    sent = closed_after(server, tag)
    assert sent < 2000, "the server sent all 2000 pieces to a client that had left"


@case("PEP 3333", "PEP 3333: close() when the body fails half-way", applies={WSGI})
def close_after_body_fails(s, server):
    tag = uuid.uuid4().hex[:12]
    try:
        exchange(server, request("GET", f"/closing?tag={tag}&pieces=5&fail=2"))
    except AssertionError:
        pass  # an incomplete response: what the client should see (app_fails_after_headers checks it)
    assert closed_after(server, tag) == 2


# What an app owes whatever server runs it

@case("HEAD", "RFC 9110 9.1, 9.3.2 (HEAD wherever GET is answered; Werkzeug does so)", applies={APP})
def head_answered_like_get(s, server):
    get = until_closed(server, request("GET", "/", [("Host", "x"), ("Connection", "close")]))
    head = until_closed(server, request("HEAD", "/", [("Host", "x"), ("Connection", "close")]))
    assert get[0].split(" ")[1] == "200", f"GET / got {get[0]!r}"
    assert head[0].split(" ")[1] == "200", f"HEAD / got {head[0]!r}; GET / gets 200"
    framing = [line.lower() for line in get[1] if line.lower().startswith(("content-type:", "content-length:"))]
    assert framing == [line.lower() for line in head[1] if line.lower().startswith(
        ("content-type:", "content-length:"))], "HEAD's Content-Type or Content-Length differs from GET's"
    assert head[2] == b"", f"a body after the head of a HEAD answer: {head[2][:40]!r}"


# RFC 3875 duties of the CGI gateways

@case("CGI", "RFC 3875 6.3.4 (framing is the gateway's: a script's hop-by-hop headers are dropped)",
      applies={CGI})
def script_cannot_frame_the_response(s, server):
    before = log_text(server).count("Transfer-Encoding")
    response = exchange(server, request("GET", "/cgi-bin/confframe"))
    assert status_of(response) == 200 and response.body == b"framed by the gateway\n", (
        f"{status_of(response)}: {response.body[:40]!r}" if response else "no answer")
    passed = [name for name in ("transfer-encoding", "keep-alive") if name in response.headers]
    assert not passed, f"the script's {passed} reached the client"
    assert logged(server, "Transfer-Encoding", before), "the log does not say the header was dropped"


@case("CGI", "RFC 3875 4.1.3 (CONTENT_TYPE whenever the request has a Content-Type)", applies={CGI})
def content_type_without_a_body(s, server):
    response = exchange(server, request("GET", "/cgi-bin/confenv", [("Host", "x"),
                                                                     ("Content-Type", "text/csv")]))
    environ = json.loads(response.body)
    assert environ.get("CONTENT_TYPE") == "text/csv", environ.get("CONTENT_TYPE", "(not set)")


@case("CGI", "RFC 3875 6.2.2 (local redirect)", applies={CGI})
def local_redirect_reprocessed(s, server):
    response = exchange(server, request("GET", "/cgi-bin/conflocal"))
    assert status_of(response) == 200 and "location" not in response.headers, (
        f"a local redirect got {status_of(response)} instead of the page it names")


@case("CGI", "RFC 3875 6.3.3 (Status is a three-digit code)", applies={CGI})
def invalid_status_is_502(s, server):
    response = exchange(server, request("GET", "/cgi-bin/confstatus"))
    assert status_of(response) == 502, f"Status: 2000 from a script became {status_of(response)}"


@case("CGI", "RFC 3875 4.1.3, 4.1.17 (CONTENT_TYPE, SERVER_SOFTWARE)", applies={CGI})
def content_type_and_server_software(s, server):
    response = exchange(server, request("POST", "/cgi-bin/confenv",
                                        [("Host", "x"), ("Content-Type", "text/csv"),
                                         ("Content-Length", "3")], b"a,b"), "POST")
    environ = json.loads(response.body)
    assert environ.get("CONTENT_TYPE") == "text/csv", environ.get("CONTENT_TYPE")
    assert environ.get("SERVER_SOFTWARE"), "no SERVER_SOFTWARE"


@case("CGI", "RFC 3875 4.1.18 (credentials are not passed to scripts)", applies={CGI})
def authorization_not_passed(s, server):
    response = exchange(server, request("GET", "/cgi-bin/confenv",
                                        [("Host", "x"), ("Authorization", "Basic c2VjcmV0")]))
    environ = json.loads(response.body)
    assert "HTTP_AUTHORIZATION" not in environ, "the script was given the client's credentials"


@case("CGI", "RFC 3875 4.1.18 (a folded header never reaches a script raw)", applies={CGI})
def folded_header_never_reaches_script(s, server):
    raw = b"GET /cgi-bin/confenv HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n"
    response = exchange(server, raw)
    if status_of(response) != 400:
        environ = json.loads(response.body)
        raw_values = [k for k, v in environ.items() if "\r" in v or "\n" in v]
        assert not raw_values, f"CR/LF reached the script in {raw_values}"


TABLE = [(subject, category, section, function)
         for category, section, applies, function in CASES
         for subject in SUBJECTS if subject.tags & applies]
# Known gaps in servers another notebook owns: expected to fail (strict, so a fix is noticed).
@pytest.mark.parametrize("subject, category, section, function", TABLE, ids=[f"{s.name}-{c.replace(' ', '_')}-{f.__name__}" for s, c, _, f in TABLE])
def test_conformance(subject, category, section, function, started):
    server = started(subject)
    function(subject, server)


# --- Lesson 04's ASGI samples: behind a proxy prefix, without lifespan, with binary frames -------

ROOT_PATH = "/user/x/proxy/1234"
ROUTED = [("asgi_sse.py", "/ticks", LESSON04), ("load_asgi.py", "/await", LESSON04),
          ("asgi_wsgi_adapter.py", "/slow", LESSON04),
          ("lab04_app.py", "/", "solutions/04-solution-asgi-by-hand.ipynb")]


@pytest.fixture
def asgi_folder(tmp_path):
    for notebook in (LESSON04, "solutions/04-solution-asgi-by-hand.ipynb"):
        for name, source in written_files(notebook).items():
            (tmp_path / name).write_text(source)
    return tmp_path


@pytest.mark.parametrize("file, path, notebook", ROUTED, ids=[r[0] for r in ROUTED])
def test_asgi_apps_route_under_a_root_path(asgi_folder, file, path, notebook):
    """ASGI spec: with root_path set, scope["path"] includes it; the apps strip it to route.

    The request carries the path as a proxy forwards it (prefix removed); uvicorn puts the
    prefix back in front of scope["path"].
    """
    server = launch(asgi_folder / file, kind="uvicorn", args=["--root-path", ROOT_PATH],
                    name=f"rooted-{file[:-3]}", quiet=True)
    try:
        method = "HEAD" if path == "/ticks" else "GET"
        response = exchange(server, request(method, path, [("Host", "x"), ("Connection", "close")]),
                            method)
        assert status_of(response) == 200, f"{path} under {ROOT_PATH} got {status_of(response)}"
        if file == "asgi_wsgi_adapter.py":  # PATH_INFO is the path after SCRIPT_NAME
            assert response.body == b"WSGI answers GET /slow\n", response.body
    finally:
        server.stop()


def test_lifespan_sample_works_without_lifespan(asgi_folder):
    server = launch(asgi_folder / "asgi_lifespan.py", kind="uvicorn", args=["--lifespan", "off"],
                    name="no-lifespan", quiet=True)
    try:
        first, second = server.get("/"), server.get("/")
        assert (first.status_code, second.status_code) == (200, 200), server.log_path.read_text()
        assert [first.json()["request"], second.json()["request"]] == [1, 2]
    finally:
        server.stop()


@pytest.mark.parametrize("file", ["asgi_ws.py", "lab04_app.py"])
def test_websocket_echo_keeps_binary_frames_under_a_root_path(asgi_folder, file):
    from websockets.sync.client import connect

    # Behind a proxy prefix, as on JupyterHub: the WebSocket route must still be found.
    server = launch(asgi_folder / file, kind="uvicorn", args=["--root-path", ROOT_PATH],
                    name=f"ws-{file[:-3]}", quiet=True)
    try:
        with connect(f"ws://127.0.0.1:{server.port}/echo", open_timeout=SECONDS,
                     close_timeout=SECONDS) as ws:
            ws.send(b"\x00\xffbinary")
            assert ws.recv(timeout=SECONDS) == b"\x00\xffbinary"
            ws.send("text")
            assert ws.recv(timeout=SECONDS) == "text"
    finally:
        server.stop()

