"""Lab 03, WSGI by hand: a router (3.1) and middleware (3.2) checked in the kernel through
wsgiref.validate, and the student's socket server (3.3) checked over HTTP with a Flask app.
"""
import re
from pathlib import Path

from coursekit.checks import CheckFailed, exchange, exercise
from coursekit.inprocess import WSGIRuleBroken, call_wsgi
from coursekit.servers import REQUEST_SECONDS

# What wsgiref.validate's assertions mean, in words a student can act on (first match wins).
PLAIN_WORDS = [
    ("The application must return an iterator",
     "the app returned None: return a list of bytes such as [body] (is a `return` missing?)"),
    ("You should not return a string",
     "return a list holding the body, [body], not the str or bytes itself"),
    ("Iterator yielded non-bytestring",
     "every piece of the body must be bytes: encode text with .encode('utf-8')"),
    ("start_response has not yet been called",
     "call start_response(status, headers) before you return the body"),
    ("Status must be of type str", "the status must be a str such as '200 OK', not a number"),
    ("Status codes must be three characters",
     "the status must begin with a three-digit code: '404 Not Found'"),
    ("The status string", "the status needs a reason after the code: '200 OK', not '200'"),
    ("must be of type list", "headers must be a list of (name, value) tuples, not a dict"),
    ("Individual headers", "each header must be a tuple (name, value)"),
    ("Header name must be of type str", "header names must be str"),
    ("Header value must be of type str",
     "header values must be str: write str(len(body)) for Content-Length"),
    ("No Content-Type header found",
     "every response with a body needs a Content-Type header, error responses too"),
    ("Bad header value", "a header value contains a newline or another control character"),
    ("Invalid number of arguments",
     "start_response takes (status, headers) or (status, headers, exc_info)"),
    ("called a second time without exc_info",
     "start_response may be called again only with exc_info=sys.exc_info() as its third argument"),
    ("Environment missing required key",
     "environ lacks a key that every WSGI server must provide"),
    ("Environment should not have the key",
     "Content-Type and Content-Length go in environ as CONTENT_TYPE and CONTENT_LENGTH, "
     "without the HTTP_ prefix"),
    ("is not a string", "environ values under CGI names must be str, e.g. SERVER_PORT='8000'"),
    ("wsgi.version should be a tuple", "environ['wsgi.version'] must be the tuple (1, 0)"),
    ("wsgi.url_scheme", "environ['wsgi.url_scheme'] must be 'http'"),
    ("QUERY_STRING is not in the WSGI environment",
     "set environ['QUERY_STRING'] (an empty string when the URL has no '?')"),
    ("PATH_INFO doesn't start with /",
     "PATH_INFO is the path alone, starting with /, without the query string"),
    ("One of SCRIPT_NAME or PATH_INFO", "set PATH_INFO to the request's path ('/' at least)"),
    ("wsgi.input", "wsgi.input must be a binary file-like object, e.g. io.BytesIO(body)"),
    ("wsgi.errors", "wsgi.errors must be a text stream such as sys.stderr"),
    ("garbage collected without being closed",
     "call close() on the app's result once the response is sent, even after an error"),
    ("Iterator read after closed", "the body was read after close() was called on it"),
]


def in_plain_words(message):
    """Explain a wsgiref.validate message; the original follows in brackets."""
    for start, plain in PLAIN_WORDS:
        if start in message:
            return f"{plain} [wsgiref.validate: {message}]"
    return f"the response breaks a rule of PEP 3333 [wsgiref.validate: {message}]"


def call(app, path="/", method="GET", headers=None, body=b""):
    """Call `app` in-process through wsgiref.validate (coursekit.inprocess); a broken rule becomes a
    CheckFailed in plain words. Returns a Response: status_code, headers, content, text, errors."""
    try:
        return call_wsgi(app, path, method, headers, body)
    except WSGIRuleBroken as broken:
        raise CheckFailed("a response that follows the WSGI rules (PEP 3333)",
                          in_plain_words(str(broken)), hint="") from None  # the words are the hint


# ----- 3.1: a router with path parameters -----------------------------------------------

def sample_router(Router):
    """The routes every student's Router must serve (built here, so the check does not depend on
    the demo routes in the notebook)."""
    router = Router()

    @router.route("/")
    def home(environ):
        return "home"

    @router.route("/hello/<name>")
    def hello(environ, name):
        return f"Hello, {name}!"

    @router.route("/users/<int:user_id>/posts/<int:post_id>")
    def post(environ, user_id, post_id):
        return f"{type(user_id).__name__} {type(post_id).__name__} {user_id + post_id}"

    @router.route("/v1.0/files/<name>")
    def text_file(environ, name):
        return f"file {name}"

    @router.route("/items", methods=("POST", "PUT"))
    def items(environ):
        return "stored"

    return router


@exercise("3.1")
def router_with_parameters(t, Router):
    t.answered(Router, "Router", probe=lambda: sample_router(Router)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda status, headers, exc_info=None: None))
    with t.part("Router() can be created and routes registered with @router.route", required=True,
                hint="route(pattern, methods) returns a decorator that stores the handler and "
                     "returns it unchanged."):
        router = sample_router(Router)
    with t.part("GET / answers 200, text/plain, body 'home'", required=True,
                hint="Find the route whose regex matches PATH_INFO fully, call its handler and "
                     "send what it returns, encoded, with a Content-Type."):
        reply = call(router, "/")
        t.equal((reply.status_code, reply.text), (200, "home"))
        t.media_type(reply, "text/plain")
    with t.part("/hello/Ada passes name='Ada' to the handler",
                hint="Turn each <name> into a named group of the regex, and pass what the groups "
                     "matched to the handler as keyword arguments."):
        t.equal(call(router, "/hello/Ada").text, "Hello, Ada!")
    with t.part("a parameter is one path segment, and the whole path must match",
                hint="The whole path must match, not only its start, and a parameter never "
                     "matches a '/'."):
        t.equal([call(router, p).status_code for p in ("/hello/Ada/more", "/hello/", "/hello")],
                [404, 404, 404])
    with t.part("<int:...> parameters match digits only and arrive as int",
                hint="An <int:...> parameter matches digits only, and the handler gets it as an int."):
        t.equal(call(router, "/users/7/posts/35").text, "int int 42")
        t.equal(call(router, "/users/seven/posts/35").status_code, 404)
    with t.part("literal parts of a pattern are matched literally ('.' is a dot)",
                hint="The text between parameters is not a regex: escape it (the re module can)."):
        t.equal(call(router, "/v1.0/files/notes").text, "file notes")
        t.equal(call(router, "/v1x0/files/notes").status_code, 404)
    with t.part("a path that matches with the wrong method answers 405 with an Allow header",
                hint="Remember the methods of routes whose path matched; answer '405 Method Not "
                     "Allowed' with Allow: the methods sorted and joined by ', '."):
        reply = call(router, "/items")
        t.equal((reply.status_code, reply.headers.get("allow")), (405, "POST, PUT"))
        t.equal(call(router, "/items", method="PUT").text, "stored")
    with t.part("an unknown path answers 404 Not Found",
                hint="When no route matches, answer '404 Not Found' (with a Content-Type)."):
        t.equal(call(router, "/no/such/page").status_code, 404)
    with t.part("a UTF-8 path works: /hello/café answers 'Hello, café!'",
                hint="PATH_INFO holds the path's bytes decoded as latin-1 (PEP 3333): turn it back "
                     "into those bytes and decode them as UTF-8 before matching; the body is UTF-8."):
        wire_path = "/hello/café".encode("utf-8").decode("latin-1")  # what a server puts in PATH_INFO
        t.equal(call(router, wire_path).text, "Hello, café!")
    with t.part("HEAD /hello/Ada answers as GET does, without the body (RFC 9110 9.1, 9.3.2)",
                hint="Route a HEAD request as if it were GET, and answer with GET's status and headers "
                     "(Content-Length included) but an empty body."):
        get, head = call(router, "/hello/Ada"), call(router, "/hello/Ada", method="HEAD")
        t.equal((head.status_code, head.headers.get("content-length"), head.content),
                (200, get.headers.get("content-length"), b""))


# ----- 3.2: a middleware stack ----------------------------------------------------------

class ClosableBody:
    """An inner app's body that remembers whether the server's close() reached it."""

    def __init__(self, chunks):
        self.chunks, self.closed = chunks, False

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed = True


class Inner:
    """The app inside the student's middleware: records calls, fails on purpose on /fail*."""

    def __init__(self):
        self.calls, self.bodies = 0, []

    def __call__(self, environ, start_response):
        self.calls += 1
        path = environ["PATH_INFO"]
        if path == "/fail-early":
            raise RuntimeError("secret database password in this message")
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Inner", "yes")])
        if path == "/fail-late":
            raise RuntimeError("secret database password in this message")
        body = ClosableBody([b"inner ", path.encode("latin-1")])
        self.bodies.append(body)
        return body


@exercise("3.2")
def middleware_stack(t, timing, require_token, catch_errors):
    inner = Inner()
    with t.part("timing, require_token and catch_errors each return a WSGI app",
                hint="A middleware defines an inner function (environ, start_response) and "
                     "returns that function.", required=True):
        for name, wrapped in [("timing", timing(inner)), ("require_token", require_token(inner, "s3cret")),
                              ("catch_errors", catch_errors(inner))]:
            t.expect(callable(wrapped), f"{name}(app) to return a callable", repr(wrapped))
    stack = catch_errors(timing(require_token(inner, "s3cret")))
    with t.part("timing: the inner response passes unchanged, plus X-Response-Time: '<number> ms'",
                hint="Give the inner app a start_response of your own that adds the header and "
                     "calls the real one; return the inner app's body as it is."):
        reply = call(timing(inner), "/page")
        t.equal((reply.status_code, reply.content, reply.headers.get("x-inner")),
                (200, b"inner /page", "yes"))
        got = reply.headers.get("x-response-time", "(no X-Response-Time header)")
        t.expect(re.fullmatch(r"\d+(\.\d+)? ms", got), "a value such as '0.3 ms'", repr(got))
    with t.part("require_token: /admin without a token is refused with 401 and WWW-Authenticate",
                hint="For paths starting with /admin, answer '401 Unauthorized' with "
                     "('WWW-Authenticate', 'Bearer') and a Content-Type, without calling the app."):
        calls = inner.calls
        reply = call(stack, "/admin/users")
        t.equal((reply.status_code, reply.headers.get("www-authenticate")), (401, "Bearer"))
        t.expect(inner.calls == calls, "the inner app not to be called", "it was called")
    with t.part("require_token: a wrong token is refused, the right one lets the request in",
                hint="The token comes in the Authorization header as 'Bearer <token>' "
                     "(HTTP_AUTHORIZATION in environ); compare in constant time (the hmac module)."):
        wrong = call(stack, "/admin/users", headers={"Authorization": "Bearer guess"})
        right = call(stack, "/admin/users", headers={"Authorization": "Bearer s3cret"})
        t.equal((wrong.status_code, right.status_code, right.content), (401, 200, b"inner /admin/users"))
    with t.part("require_token: paths outside /admin need no token",
                hint="Only paths that start with the prefix are guarded."):
        t.equal(call(stack, "/public").status_code, 200)
    with t.part("the stack times refused requests too (timing is outside require_token)",
                hint="timing must add its header whatever the status."):
        t.expect("x-response-time" in call(stack, "/admin").headers, "X-Response-Time on a 401",
                 "no X-Response-Time header")
    with t.part("catch_errors: an exception becomes '500 Internal Server Error' without details",
                hint="Catch Exception around the call to the inner app and answer 500 with a short "
                     "text of your own; never put the error message in the body."):
        reply = call(stack, "/fail-early")
        t.equal(reply.status_code, 500)
        t.expect(b"secret" not in reply.content, "a body without the exception's message",
                 repr(reply.content))
    with t.part("catch_errors: works even after the inner app called start_response",
                hint="start_response takes a third argument for this case (exc_info, PEP 3333): it "
                     "is the only way to replace a status that was already set."):
        t.equal(call(stack, "/fail-late").status_code, 500)
    with t.part("catch_errors: the traceback goes to environ['wsgi.errors'] (the server's log)",
                hint="Write the traceback to environ['wsgi.errors'], the server's log stream (the "
                     "traceback module prints to any file you give it)."):
        got = call(stack, "/fail-early").errors
        t.expect("RuntimeError" in got, "the traceback in wsgi.errors",
                 repr(got[-200:]) if got else "nothing written")
    with t.part("close() on the response reaches the inner app's body through all three layers",
                hint="Return the inner app's body object itself (or call its close() from yours); "
                     "don't turn it into a new list or generator that forgets close()."):
        call(stack, "/closing")
        t.expect(inner.bodies and inner.bodies[-1].closed, "the inner body closed", "never closed")



# ----- 3.3: the student's WSGI server, serving the course's Flask sample -------------------

SAMPLE = Path("apps/lab03_flask_sample.py")
LOG_PROBLEM = re.compile(r"^(\w*(?:Error|Exception)\b.*|Iterator garbage collected.*)$", re.M)
SPEC_PROBLEM = re.compile(
    r"^((?:AssertionError|KeyError)\b.*|Iterator garbage collected.*|.*WSGIWarning: .*)$", re.M)


def from_log(server, pattern=LOG_PROBLEM):
    """The first problem in the server's log, explained; '' if the log shows none."""
    text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    match = pattern.search(text)
    if not match:
        return ""
    line = match.group(1).strip()
    if "WSGIWarning: " in line:
        return f" — your server's log says: {in_plain_words(line.split('WSGIWarning: ', 1)[1])}"
    if line.startswith("AssertionError") or line.startswith("Iterator garbage"):
        message = line.removeprefix("AssertionError:").strip()
        if line.startswith("Iterator garbage"):  # written without a newline, then a traceback
            message = "Iterator garbage collected without being closed"
        return f" — your server's log says: {in_plain_words(message)}"
    if line.startswith("KeyError"):
        return (f" — your server's log says: {line} (environ lacks that key; every WSGI server "
                "must provide it)")
    return f" — your server's log says: {line}"


def fetch(server, method, path, **kwargs):
    """One request to the student's server (a failed one is explained by the check, with its log)."""
    return server.request(method, path, timeout=REQUEST_SECONDS, allow_redirects=False, **kwargs)


def expect_status(t, response, code, server):
    """Expect `code`; a 5xx comes with what the server's log says, which replaces the hint."""
    said = from_log(server) if response.status_code >= 500 else ""
    t.expect(response.status_code == code, f"status {code}", f"{response.status_code}{said}",
             hint="" if said else None)


@exercise("3.3")
def socket_server(t):
    with t.part(f"{SAMPLE} exists", hint="Run the cell that writes the sample Flask app first.",
                required=True):
        t.expect(SAMPLE.is_file(), f"the file {SAMPLE}", "no such file")
    # The sample is served through wsgiref.validate, which checks what the server does as well.
    server = t.launch("apps/lab03_server.py", "script", args=["lab03_flask_sample:checked_app"])
    with t.part("GET / answers 200 with Flask's body, in the shape HTTP asks for", required=True,
                hint="Send 'HTTP/1.1 <status>\\r\\n', one 'Name: value\\r\\n' line per header, an "
                     "empty line, then the body; close the connection when done. If your server's "
                     "log (at the end) shows an error, start there."):
        # Raw bytes, parsed strictly: a client library would hide a missing empty line.
        response = t.wire(exchange(server, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                           b"Connection: close\r\n\r\n", seconds=REQUEST_SECONDS))
        expect_status(t, response, 200, server)
        t.equal(response.text, "Flask says hello\n")
    with t.part("the app's headers reach the client (Content-Type, Content-Length)",
                hint="Send every (name, value) pair given to start_response."):
        response = fetch(server, "GET", "/")
        t.equal((response.headers.get("Content-Type"), response.headers.get("Content-Length")),
                ("text/html; charset=utf-8", str(len("Flask says hello\n"))))
    with t.part("path parameters and the query string arrive apart",
                hint="Split the request target at the first '?': the path goes in PATH_INFO, the "
                     "rest in QUERY_STRING."):
        response = fetch(server, "GET", "/greet/Ada?excited=yes")
        expect_status(t, response, 200, server)
        t.equal(response.json(), {"greeting": "Hello, Ada!", "excited": True})
    with t.part("a UTF-8 path arrives intact: /greet/café",
                hint="Percent-decode the path and decode its bytes as latin-1, as PEP 3333 says "
                     "(urllib.parse.unquote takes an encoding)."):
        response = fetch(server, "GET", "/greet/café")
        expect_status(t, response, 200, server)
        t.equal(response.json()["greeting"], "Hello, café!")
    with t.part("request headers reach the app as HTTP_* keys",
                hint="'Accept-Language: fr' becomes environ['HTTP_ACCEPT_LANGUAGE'] = 'fr'."):
        response = fetch(server, "GET", "/whoami", headers={"User-Agent": "lab-03", "Accept-Language": "fr"})
        expect_status(t, response, 200, server)
        t.equal(response.json(), {"agent": "lab-03", "language": "fr"})
    with t.part("a POSTed JSON body reaches the app; 201 and Location come back",
                hint="Read exactly Content-Length bytes after the headers, give them to the app as "
                     "wsgi.input (io.BytesIO), and set CONTENT_TYPE and CONTENT_LENGTH."):
        response = fetch(server, "POST", "/notes", json={"text": "WSGI is a function call"})
        expect_status(t, response, 201, server)
        t.equal((response.json(), response.headers.get("Location")),
                ({"saved": {"text": "WSGI is a function call"}}, "/notes/1"))
    with t.part("error statuses pass through: an unknown path is 404",
                hint="Send the status exactly as the app gave it to start_response."):
        expect_status(t, fetch(server, "GET", "/no/such/page"), 404, server)
    with t.part("a redirect passes through: /old answers 302 with Location: /",
                hint="Send the status and every header as the app gave them."):
        response = fetch(server, "GET", "/old")
        t.equal((response.status_code, response.headers.get("Location")), (302, "/"))
    with t.part("wsgiref.validate found nothing wrong in your server's environ, input or close()",
                hint="Read the message above: it names the rule and the fix."):
        server.stop()
        problem = from_log(server, SPEC_PROBLEM)
        t.expect(not problem, "a log without assertion errors", problem.removeprefix(" — ") or "")


# ----- 3.4: the student's server keeps HTTP's rules, tested on the wire --------------------

RULES_APP = Path("apps/lab03_rules_app.py")
RULES_APP_SOURCE = '''"""Written by check("3.4"): a WSGI app that answers every method with a body."""


def report(start_response):
    """A body that fails before its first piece: nothing has gone out when it raises."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    raise RuntimeError("the report failed before its first row (on purpose, for check 3.4)")
    yield b"never sent"


def app(environ, start_response):
    if environ["PATH_INFO"] == "/fail":
        return report(start_response)
    if environ["PATH_INFO"] == "/overlong":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        return [b"abc", b" and more than Content-Length said"]
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    answer = b"you sent: " + body
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(answer)))])
    return [answer]
'''


def wire(server, data, half_close=False, seconds=REQUEST_SECONDS):
    """Send raw bytes; return (status code or None, head text, body bytes) once the server closes."""
    import socket

    received = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=seconds) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            raise CheckFailed(f"an answer, then the connection closed, within {seconds} s",
                              "the connection stayed open") from None
        except ConnectionError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    head = head.decode("latin-1")
    parts = head.split(" ", 2)
    code = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return code, head, body


def said(code, head):
    return repr(head.split("\r\n")[0]) if head else "no answer at all"


@exercise("3.4")
def http_rules(t):
    RULES_APP.write_text(RULES_APP_SOURCE)
    server = t.launch("apps/lab03_server.py", "script", args=["lab03_rules_app:app"])
    with t.part("HEAD / gets the head of GET's answer and no body (RFC 9110 9.3.2)",
                hint="When REQUEST_METHOD is HEAD, send the status line and headers, but none of "
                     "the body the app returns."):
        code, head, body = wire(server, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t.expect(code == 200, "200", said(code, head))
        t.expect(body == b"", "no body", f"{len(body)} bytes of body: {body[:40]!r}")
    with t.part("an HTTP/1.1 request without Host gets 400 (RFC 9112 3.2)",
                hint="HTTP/1.1 requires exactly one Host header: answer 400 Bad Request without "
                     "calling the app."):
        code, head, _ = wire(server, b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        t.expect(code == 400, "400", said(code, head))
    with t.part("Content-Length: abc gets 400, and never reaches the app (RFC 9112 6.3)",
                hint="Accept a Content-Length only if it is all digits; otherwise answer 400."):
        code, head, _ = wire(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nabc")
        t.expect(code == 400, "400", said(code, head))
    with t.part("the app gets exactly Content-Length bytes of body",
                hint="Read exactly Content-Length bytes: not fewer, not the bytes that follow."):
        code, head, body = wire(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                        b"Connection: close\r\n\r\nabcdef")
        t.equal(body, b"you sent: abc")
    with t.part("a body that ends before its Content-Length is not answered as if complete",
                hint="If the connection ends before Content-Length bytes arrived, answer 400 (or "
                     "close) instead of calling the app with a short body."):
        code, head, _ = wire(server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
                             half_close=True)
        t.expect(code is None or code >= 400, "400, or no answer", said(code, head))
    with t.part("every answer carries a Date header (RFC 9110 6.6.1; PEP 3333: the server adds it)",
                hint="Add 'Date: ' + email.utils.formatdate(usegmt=True) unless the app sent one."):
        code, head, _ = wire(server, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t.expect("\r\ndate:" in head.lower(), "a Date header", "none")
    with t.part("an HTTP/1.0 request is answered and the connection closes",
                hint="Answer HTTP/1.0 clients too (they send no Host), then close the connection."):
        code, head, body = wire(server, b"GET / HTTP/1.0\r\n\r\n")
        t.expect(code == 200 and body == b"you sent: ", "200 with the app's body", said(code, head))
    with t.part("an app that fails before the head went out gets 500, not a closed connection (PEP 3333)",
                hint="Keep the call of the app and the loop over its body in one try: if anything "
                     "fails while nothing has been sent, answer 500 Internal Server Error, then log "
                     "the error."):
        code, head, _ = wire(server, b"GET /fail HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t.expect(code == 500, "500", said(code, head))
    with t.part("never more body than the app's Content-Length (PEP 3333)",
                hint="Note the app's Content-Length when you send the head; count the bytes you send "
                     "and cut what goes beyond it (and print a line to the log)."):
        code, head, body = wire(server, b"GET /overlong HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t.expect(code == 200 and body == b"abc", "200 and the 3 bytes of Content-Length: 3",
                 f"{said(code, head)} and {len(body)} bytes: {body[:40]!r}")
