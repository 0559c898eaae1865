"""Lab 01, an HTTP/1.1 server on sockets: each exercise talks to apps/lab01_server.py over real TCP.

Every answer is read as raw bytes and parsed strictly (coursekit.checks.parse_wire), never through
a client that would repair it: a Content-Length that is too small, or a head without its empty
line, shows up as it is. Every connection and request has a deadline.
"""
import socket
import threading

from coursekit.checks import CheckFailed, EXPECTED_SHAPE, exchange, exercise, parse_wire, shown
from coursekit.servers import REQUEST_SECONDS

SERVER = "apps/lab01_server.py"
SECONDS = 3  # how long a check waits for any one answer


def fetch(server, method, path, timeout=SECONDS, headers=None, data=b""):
    """One request on a connection of its own, the answer read as raw bytes until the server closes
    (a WireAnswer: status_code, reason, headers, content, text, raw). A malformed answer fails."""
    # One request per connection, as a client that has nothing more to ask says: a server that keeps
    # connections open but serves one at a time is then not blocked by a check's earlier request.
    # (Keep-alive is checked on its own in exercise 1.7.)
    fields = {"Host": f"127.0.0.1:{server.port}", "User-Agent": "lab01-check",
              "Connection": "close", **(headers or {})}
    if data or method == "POST":
        fields["Content-Length"] = str(len(data))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in fields.items())
    received = exchange(server, head.encode("latin-1") + b"\r\n" + data, timeout)
    answer, problem = parse_wire(received)
    if problem:
        raise CheckFailed(f"an answer shaped like\n{EXPECTED_SHAPE}",
                          f"{problem}, in the first bytes received:\n{shown(received)}",
                          hint="" if received else None)
    return answer


def connect(server):
    """A raw TCP connection to the server, with a deadline on every read."""
    return socket.create_connection(("127.0.0.1", server.port), timeout=SECONDS)


def read_answer(rfile):
    """Read one answer from a connection that may stay open: (status line, headers, body)."""
    status_line = rfile.readline(8192)
    if not status_line:
        raise CheckFailed("an answer", "the server closed the connection without answering")
    headers = {}
    while True:
        line = rfile.readline(8192)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise CheckFailed("a Content-Length header, so that the answer's end is known",
                          "no Content-Length header")
    body = rfile.read(int(headers["content-length"]))
    return status_line.decode("latin-1").strip(), headers, body


def read_until_closed(sock):
    """Everything the server sends until it closes the connection (what came, if it resets)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        raise CheckFailed(f"an answer, then the connection closed, within {SECONDS} s",
                          f"{first_line(received)}, and the connection stayed open") from None
    except ConnectionError:
        pass
    return received


def first_line(data):
    if not data:
        return "no answer at all"
    return repr(data.split(b"\r\n")[0].decode("latin-1"))


def status(response):
    return f"{response.status_code} {response.reason}"


def expect_ok(t, response, code=200):
    t.expect(response.status_code == code, f"{code} {'OK' if code == 200 else ''}".strip(),
             status(response))


@exercise("1.1")
def root_answers(t):
    server = t.launch(SERVER, "script")
    with t.part("GET / answers 200 OK", required=True,
                hint="In route(), answer GET / with \"200 OK\"; run the %%writefile cell again."):
        expect_ok(t, fetch(server, "GET", "/"))
    with t.part("the answer to GET / has a body", hint="Return a few bytes of text as the body."):
        t.expect(len(fetch(server, "GET", "/").content) > 0, "a non-empty body", "an empty body")


@exercise("1.2")
def others_are_not_found(t):
    server = t.launch(SERVER, "script")
    for path in ("/no-such-page", "/a/b/c?x=1"):
        with t.part(f"GET {path} answers 404 Not Found",
                    hint="Make the last branch of route() answer \"404 Not Found\" for everything else."):
            expect_ok(t, fetch(server, "GET", path), 404)
    with t.part("GET / still answers 200 OK", hint="Keep the branch for / above the 404."):
        expect_ok(t, fetch(server, "GET", "/"))


@exercise("1.3")
def echo_path(t):
    server = t.launch(SERVER, "script")
    with t.part("GET /echo/hello answers 200 OK with the body 'hello'", required=True,
                hint="Answer paths that start with /echo/ with the rest of the path."):
        response = fetch(server, "GET", "/echo/hello")
        expect_ok(t, response)
        t.equal(response.content, b"hello")
    with t.part("its Content-Type is text/plain",
                hint="Answer with the content type text/plain; charset=utf-8."):
        got = fetch(server, "GET", "/echo/hello").headers.get("Content-Type", "no Content-Type header")
        t.expect(got.split(";")[0].strip().lower() == "text/plain", "text/plain; charset=utf-8", got)
    with t.part("its Content-Length is the number of body bytes that came",
                hint="In send_response(), add a Content-Length header: the body's length in bytes."):
        response = fetch(server, "GET", "/echo/hello")
        got = response.headers.get("Content-Length", "no Content-Length header")
        t.expect(got == str(len(response.content)), f"Content-Length: {len(response.content)}",
                 f"Content-Length: {got}" if got[0].isdigit() else got)
    with t.part("GET /echo/caf%C3%A9%20au%20lait answers 'café au lait', 13 bytes long",
                hint="Percent-decode the text (urllib.parse.unquote), encode it as UTF-8, and count "
                     "bytes, not characters."):
        response = fetch(server, "GET", "/echo/caf%C3%A9%20au%20lait")
        t.equal(response.content.decode("utf-8", "replace"), "café au lait")
        t.expect(response.headers.get("Content-Length") == "13", "Content-Length: 13 (bytes)",
                 f"Content-Length: {response.headers.get('Content-Length')}")


@exercise("1.4")
def user_agent(t):
    server = t.launch(SERVER, "script")
    for agent in ("lab01-check/1.4", "Mozilla/5.0 (a lab check; not a browser)"):
        with t.part(f"GET /user-agent answers with the User-Agent {agent!r}", required=True,
                    hint="Answer with the value of the request's User-Agent header (headers are "
                         "stored with lower-case names)."):
            response = fetch(server, "GET", "/user-agent", headers={"User-Agent": agent})
            expect_ok(t, response)
            t.equal(response.content.decode("latin-1"), agent)
    with t.part("its Content-Type is text/plain", hint="Answer with text/plain; charset=utf-8."):
        got = fetch(server, "GET", "/user-agent").headers.get("Content-Type", "no Content-Type header")
        t.expect(got.split(";")[0].strip().lower() == "text/plain", "text/plain", got)


@exercise("1.5")
def post_body(t):
    server = t.launch(SERVER, "script")
    small = b'{"lab": 1, "text": "caf\\u00e9"}'
    with t.part("POST /echo with a JSON body answers 200 OK with the same bytes", required=True,
                hint="Read exactly Content-Length bytes of body in read_request(), then answer POST "
                     "/echo with them."):
        response = fetch(server, "POST", "/echo", data=small,
                         headers={"Content-Type": "application/json"})
        expect_ok(t, response)
        t.equal(response.content, small)
    with t.part("the answer has the request's Content-Type",
                hint="Answer with the request's Content-Type header (application/octet-stream if "
                     "there is none)."):
        response = fetch(server, "POST", "/echo", data=small,
                         headers={"Content-Type": "application/json"})
        t.equal(response.headers.get("Content-Type", "no Content-Type header"), "application/json")
    large = bytes(range(256)) * 200  # 51,200 bytes: more than one read from the socket
    with t.part("a 51,200-byte body comes back whole",
                hint="A large body arrives in several pieces: read until you have Content-Length bytes."):
        response = fetch(server, "POST", "/echo", data=large,
                         headers={"Content-Type": "application/octet-stream"})
        t.expect(response.content == large, "the same 51200 bytes",
                 f"{len(response.content)} bytes" + ("" if len(response.content) != len(large)
                                                     else ", but different ones"))


def still_open(sock):
    """True if the server has not closed `sock` (nothing to read yet, no end of stream)."""
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.setblocking(True)


@exercise("1.6")
def several_clients(t):
    server = t.launch(SERVER, "script")
    idle = []
    try:
        with t.part("a client that connects and sends nothing does not block the next one",
                    required=True,
                    hint="Serve each connection in a thread of its own (exercise 1.6), so that the "
                         "loop goes straight back to accept()."):
            idle.append(connect(server))
            received = exchange(server, b"GET /echo/next HTTP/1.1\r\nHost: lab\r\n"
                                        b"Connection: close\r\n\r\n", seconds=REQUEST_SECONDS)
            answer, problem = parse_wire(received)
            t.expect(answer is not None and answer.content == b"next",
                     f"an answer 'next' within {REQUEST_SECONDS} s", problem if received else "no answer at all")
            # Answered, but only after the server gave up on the idle client (IDLE_SECONDS)? Then it
            # was waiting for it all along. Decided by the event, not by how long the answer took.
            t.expect(still_open(idle[0]), "the idle client still connected when 'next' was answered",
                     "the server closed the idle client first, and only then answered 'next'")
        with t.part("8 clients at once, while one is idle, each get their own answer",
                    hint="Each thread must serve its own connection; share nothing between them."):
            results = {}

            def client(number):
                received = exchange(server, f"GET /echo/client-{number} HTTP/1.1\r\nHost: lab\r\n"
                                            "Connection: close\r\n\r\n".encode())
                answer, problem = parse_wire(received)
                results[number] = answer.text if answer else (problem or "no answer")

            threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=SECONDS + 1)
            wrong = {n: results.get(n, "no answer in time") for n in range(8)
                     if results.get(n) != f"client-{n}"}
            t.expect(not wrong, "client-N back to client N, for all 8",
                     f"{len(wrong)} wrong, e.g. client {min(wrong)} got {wrong[min(wrong)]!r}"
                     if wrong else "")
    finally:
        for sock in idle:
            sock.close()


@exercise("1.7")
def keep_alive(t):
    server = t.launch(SERVER, "script")
    with t.part("two requests on one connection get two answers",
                hint="Keep the connection open after an HTTP/1.1 answer unless the client sent "
                     "Connection: close; the answer needs a Content-Length (exercise 1.3)."):
        with connect(server) as sock, sock.makefile("rb") as rfile:
            sock.sendall(b"GET /echo/first HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            line, headers, body = read_answer(rfile)
            t.equal(body, b"first")
            t.expect(headers.get("connection", "").lower() != "close",
                     "no 'Connection: close' on the first answer", "Connection: close")
            sock.sendall(b"GET /echo/second HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            line, headers, body = read_answer(rfile)
            t.equal(body, b"second")
    with t.part("a POST and a GET sent together on one connection are both answered",
                hint="Read exactly Content-Length bytes of body: the bytes after them are the next "
                     "request."):
        with connect(server) as sock, sock.makefile("rb") as rfile:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc"
                   b"GET /echo/after HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            t.equal(read_answer(rfile)[2], b"abc")
            t.equal(read_answer(rfile)[2], b"after")
    with t.part("'Connection: close' from the client closes the connection after the answer",
                hint="When the client sends Connection: close, answer with Connection: close and "
                     "close."):
        with connect(server) as sock, sock.makefile("rb") as rfile:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            read_answer(rfile)
            try:
                more = rfile.read(1)
            except TimeoutError:
                raise CheckFailed("the connection closed", "it stayed open") from None
            t.expect(more == b"", "the connection closed", f"more bytes after the answer: {more!r}")
    with t.part("an HTTP/1.0 request gets its answer, then the connection closes",
                hint="An HTTP/1.0 client keeps no connection open unless it asks to: check the "
                     "request's version, not only its Connection header."):
        with connect(server) as sock, sock.makefile("rb") as rfile:
            sock.sendall(b"GET /echo/old HTTP/1.0\r\n\r\n")
            t.equal(read_answer(rfile)[2], b"old")
            try:
                more = rfile.read(1)
            except TimeoutError:
                raise CheckFailed("the connection closed after the HTTP/1.0 answer",
                                  "it stayed open") from None
            t.expect(more == b"", "the connection closed", f"more bytes after the answer: {more!r}")


@exercise("1.8")
def bad_request(t):
    server = t.launch(SERVER, "script")
    for data in (b"HELLO\r\n\r\n", b"GET /\r\n\r\n", b"GET / FTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"):
        shown = data.split(b"\r\n")[0].decode()
        with t.part(f"the request line {shown!r} gets 400 Bad Request",
                    hint="In read_request(), raise BadRequest unless the line has three parts: a "
                         "method, a path starting with /, and HTTP/1.0 or HTTP/1.1."):
            with connect(server) as sock:
                sock.sendall(data)
                got = first_line(read_until_closed(sock))
            t.expect(got.startswith("'HTTP/1.") and " 400" in got, "'HTTP/1.1 400 Bad Request'", got)
    with t.part("the server still answers GET / afterwards",
                hint="A bad request must only close its own connection, never stop the server."):
        expect_ok(t, fetch(server, "GET", "/"))


# ----- 1.9: the rules of HTTP/1.1 that every server must follow, tested on the wire ----------

def raw_exchange(server, data):
    """Send raw bytes on a fresh connection; return everything sent back until the server closes."""
    with connect(server) as sock:
        sock.sendall(data)
        return read_until_closed(sock)


@exercise("1.9")
def http11_rules(t):
    server = t.launch(SERVER, "script")
    refusals = [
        ("an HTTP/1.1 request without Host gets 400", b"GET / HTTP/1.1\r\n\r\n", " 400",
         "RFC 9112 3.2: an HTTP/1.1 request without Host is a BadRequest."),
        ("two Host headers get 400", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", " 400",
         "A second Host header is a BadRequest."),
        ("Content-Length: abc gets 400",
         b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", " 400",
         "A Content-Length that is not a plain number is a BadRequest."),
        ("a folded header line gets 400", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", " 400",
         "A line that starts with a space (old 'folding') is not 'Name: value': BadRequest."),
        ("a space before the colon gets 400", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", " 400",
         "A space in or before a header name is a BadRequest."),
        ("a bare CR inside a header line gets 400", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
         " 400", "RFC 9112 2.2: a CR that is not followed by LF is invalid: BadRequest."),
        ("a chunked body gets 411 and the connection closes",
         b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         " 411", "Refuse Transfer-Encoding: chunked with BadRequest(..., \"411 Length Required\")."),
        ("Transfer-Encoding: gzip (chunked not last) gets 400",
         b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", " 400",
         "RFC 9112 6.3: when chunked is not the last transfer coding, nothing says where the body "
         "ends: BadRequest (400), not 411."),
        ("Transfer-Encoding: gzip, chunked gets 501",
         b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
         " 501", "A coding before chunked that the server cannot undo: "
                 "BadRequest(..., \"501 Not Implemented\")."),
    ]
    for description, data, expected, hint in refusals:
        with t.part(description, hint=hint):
            got = first_line(raw_exchange(server, data))
            t.expect(expected in got, f"'HTTP/1.1{expected} ...'", got)
    with t.part("HEAD / answers GET's status and headers with no body, on a kept-alive connection",
                hint="Route HEAD as GET, and send no body when the request was HEAD."):
        with connect(server) as sock, sock.makefile("rb") as rfile:
            sock.sendall(b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"
                         b"GET /echo/after HTTP/1.1\r\nHost: x\r\n\r\n")
            status_line = rfile.readline(8192).decode("latin-1").strip()
            t.expect(" 200" in status_line, "'HTTP/1.1 200 OK'", repr(status_line))
            while rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                pass
            after = rfile.readline(8192).decode("latin-1").strip()  # the next answer, not a body
            t.expect(after.startswith("HTTP/1.1 200"), "the GET's status line right after HEAD's head",
                     repr(after[:60]))
    with t.part("Expect: 100-continue gets 100 Continue before the body is sent",
                hint="Send b\"HTTP/1.1 100 Continue\\r\\n\\r\\n\" before reading the body."):
        with connect(server) as sock:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                         b"Expect: 100-continue\r\n\r\n")
            try:
                first = sock.recv(65536)
            except TimeoutError:
                first = b""
            t.expect(first.startswith(b"HTTP/1.1 100"), "'HTTP/1.1 100 Continue'", first_line(first))
    with t.part("an HTTP/1.0 request with Expect: 100-continue gets no 100 Continue",
                hint="Send 100 Continue only when the request's version is HTTP/1.1: an HTTP/1.0 "
                     "client cannot read it (RFC 9110 15.2)."):
        with connect(server) as sock:
            sock.sendall(b"POST /echo HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
            sock.settimeout(1)  # the client holds its body back, as it would wait for 100 Continue
            try:
                early = sock.recv(65536)
            except TimeoutError:
                early = b""
            t.expect(not early.startswith(b"HTTP/1.1 100"), "nothing until the body is sent",
                     first_line(early))
            sock.settimeout(5)
            sock.sendall(b"hi")
            got = first_line(early + read_until_closed(sock))
            t.expect(" 200" in got, "'HTTP/1.1 200 OK'", got)
    with t.part("a body cut short (Content-Length 10, 3 bytes, then the client stops) is not answered 200",
                hint="After reading, check that the body has Content-Length bytes; if not, BadRequest."):
        with connect(server) as sock:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            sock.shutdown(socket.SHUT_WR)
            got = first_line(read_until_closed(sock))
            t.expect(" 200" not in got, "400, or no answer", got)
