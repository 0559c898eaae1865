"""Two ipywidgets views for the lessons: an HTTP request explorer and a panel of running servers.

    explorer(hello)     # method, path, headers, body, Send: the raw request and the raw answer
    server_panel()      # each server: its link, status, log tail (Refresh) and a Stop button

Underneath, `send(...)` does one exchange and returns its texts, so tests and code can drive it.
In the stored run that nbval compares (COURSEKIT_STORED_RUN=1) both print a summary that is the
same on every run (no ports, dates or process ids) instead of showing widgets.
"""
from __future__ import annotations

import html
import inspect
import os
import re
import socket
import time
from contextlib import nullcontext
from dataclasses import dataclass

from coursekit import servers
from coursekit.questions import STORED_RUN
from coursekit.servers import HOST, Server, log_tail

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
SECONDS = 5  # the deadline of one exchange, connection to last byte
SETTLE = 0.3  # once a whole answer has come, how long to wait for bytes beyond it
SHOWN_BYTES = 4000
WSGI_TITLE = "The environ the WSGI app received:"
ASGI_TITLE = "What the ASGI app received and sent:"


@dataclass
class Exchange:
    """One request and its answer, as text: the request, the response, a note on how it ended,
    and for an in-process app what the app saw (the WSGI environ or the ASGI messages)."""

    target: str
    request: bytes
    response: bytes = b""
    note: str = ""
    inside: str = ""
    inside_title: str = ""  # what `inside` holds, as a heading

    @property
    def status_line(self) -> str:
        return self.response.split(b"\r\n", 1)[0].decode("latin-1") if self.response else ""

    def summary(self) -> str:
        """The exchange as text that is the same on every run (ports, dates, versions left out)."""
        parts = [f"Explorer: {self.target}", "Request:", wire_text(self.request, stable=True)]
        parts += ["Response:", wire_text(self.response, stable=True) if self.response else "    (none)"]
        if self.note:
            parts.append(f"Note: {self.note}")
        if self.inside:
            parts += [self.inside_title, self.inside]
        return _stable("\n".join(parts))


def wire_text(data: bytes, stable: bool = False, limit: int = SHOWN_BYTES) -> str:
    """Bytes as they travel, each CRLF shown as \\r\\n; `stable` hides Date and Server values.
    The head is read as Latin-1, as HTTP says; the body as UTF-8, with any byte that is not part of
    a UTF-8 character shown as \\xNN (so 'café' reads as café, and binary stays visible as bytes)."""
    head, blank, body = data[:limit].partition(b"\r\n\r\n")
    head = head.decode("latin-1")
    if stable:
        head = re.sub(r"(?im)^(date|server):[^\r\n]*", lambda m: f"{m.group(1)}: (varies)", head)
    text = head + blank.decode() + body.decode("utf-8", "backslashreplace")
    text = text.replace("\r\n", "\\r\\n\n").replace("\r", "\\r")
    more = f"\n    ... ({len(data) - limit} more bytes)" if len(data) > limit else ""
    return "\n".join(f"    {line}" for line in text.rstrip("\n").split("\n")) + more


def _stable(text: str) -> str:
    """Ports out of addresses and links, so a summary reads the same on every run."""
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    return re.sub(r"/proxy/\d+/", "/proxy/PORT/", text)


def header_pairs(headers: str | dict | None) -> list[tuple[str, str]]:
    """'Name: value' lines (or a dict) as pairs; a line that is not a header raises ValueError."""
    if isinstance(headers, dict):
        return [(str(n), str(v)) for n, v in headers.items()]
    pairs = []
    for line in (headers or "").splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or name != name.strip() or " " in name:
            raise ValueError(f"the header line {line!r} is not 'Name: value'")
        pairs.append((name, value.strip()))
    return pairs


def request_headers(pairs: list, body: bytes, host: str, close: bool = True) -> list[tuple[str, str]]:
    """The given headers plus, unless given, Host, Content-Length and Connection: close (over a
    socket, one exchange per connection keeps the reading simple; an in-process app has no
    connection, so `close=False` leaves it out). An in-process app gets exactly these."""
    names = {n.lower() for n, _ in pairs}
    pairs = list(pairs)
    if "host" not in names:
        pairs.insert(0, ("Host", host))
    if body and "content-length" not in names and "transfer-encoding" not in names:
        pairs.append(("Content-Length", str(len(body))))
    if close and "connection" not in names:
        pairs.append(("Connection", "close"))
    return pairs


def build_request(method: str, path: str, pairs: list, body: bytes) -> bytes:
    """The request bytes: request line, the headers as given, an empty line, then the body."""
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in pairs) + "\r\n"
    return head.encode("latin-1") + body


def send(target, method: str = "GET", path: str = "/", headers: str | dict | None = "",
         body: str | bytes = b"", seconds: float = SECONDS) -> Exchange:
    """One exchange with a launched server (raw bytes over a socket, within `seconds`) or with an
    in-process WSGI or ASGI app (then `inside` shows what the app saw); never raises, never hangs."""
    body = body.encode() if isinstance(body, str) else bytes(body)
    method, path = (method or "GET").strip().upper(), (path or "/").strip()
    name = describe(target)
    if not path.startswith("/"):
        return Exchange(name, b"", note=f"the path must start with '/'; got {path!r}")
    try:
        over_socket = isinstance(target, Server)
        host = f"{HOST}:{target.port}" if over_socket else HOST
        pairs = request_headers(header_pairs(headers), body, host, close=over_socket)
        request = build_request(method, path, pairs, body)
    except (ValueError, UnicodeEncodeError) as error:
        reason = "a header holds a character outside Latin-1" if isinstance(error, UnicodeError) else error
        return Exchange(name, b"", note=f"nothing sent: {reason}")
    if over_socket:
        return _over_socket(target, name, request, seconds)
    if callable(target):  # the app gets the headers the request shows, as from a server
        return (_asgi if is_asgi(target) else _wsgi)(target, name, method, path, pairs, body, request, seconds)
    return Exchange(name, request, note="nothing sent: choose a server (launch one first) or give an app")


def describe(target) -> str:
    """A name for a server or an app that is the same on every run."""
    if isinstance(target, Server):
        return f"{target.name} ({target.kind}) at {target.url}"
    if callable(target):
        kind = "ASGI" if is_asgi(target) else "WSGI"
        return f"{getattr(target, '__name__', type(target).__name__)} (in-process {kind} app)"
    return "no server"


def is_asgi(app) -> bool:
    """An ASGI app is a coroutine function (or an object whose __call__ is one); WSGI's is not."""
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(getattr(app, "__call__", None))


def _over_socket(server, name, request, seconds):
    """Send the bytes and read until the server closes, the answer is whole, or the deadline."""
    deadline = time.monotonic() + seconds
    received, note = b"", ""
    try:
        with socket.create_connection((HOST, server.port), timeout=seconds) as sock:
            sock.sendall(request)
            whole_at = None
            while True:
                now = time.monotonic()
                limit = deadline if whole_at is None else min(deadline, whole_at + SETTLE)
                if now >= limit:
                    if whole_at is None:
                        note = (f"no answer within {seconds:g} s: the server took the connection but "
                                "sent nothing" if not received else
                                f"the answer was not complete within {seconds:g} s")
                    break
                sock.settimeout(limit - now)
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:
                    if not received:
                        note = "the server closed the connection without sending anything"
                    break
                received += chunk
                if whole_at is None and _whole(received):
                    whole_at = time.monotonic()
    except ConnectionRefusedError:
        note = f"connection refused: nothing listens on port {server.port} (has {server.name} stopped?)"
    except ConnectionResetError:
        note = "the server reset the connection (it crashed, or closed with unread bytes)"
    except OSError as error:
        note = f"the exchange failed: {error}"
    if note and not server.alive():
        note += f"; {server.name} has exited with code {server.process.poll()}"
    return Exchange(name, request, received, note)


def _whole(data):
    """A head, and all of its body: Content-Length bytes, or a chunked body's last chunk."""
    head, blank, body = data.partition(b"\r\n\r\n")
    if not blank:
        return False
    if re.search(rb"(?im)^transfer-encoding:[^\r\n]*chunked", head):
        return body.endswith(b"0\r\n\r\n")
    found = re.search(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*$", head)
    return bool(found and len(body) >= int(found.group(1))) or data.startswith(b"HTTP/1.1 204")


def _wsgi(app, name, method, path, pairs, body, request, seconds):
    """Call a WSGI app in-process, as a strict server would, keeping the environ it received."""
    from coursekit.deadlines import TimeLimit, deadline, usable
    from coursekit.inprocess import WSGIRuleBroken, call_wsgi

    seen = {}

    def watched(environ, start_response):
        seen.update(environ)
        return app(environ, start_response)

    path, _, query = path.partition("?")
    failure = None
    try:
        with deadline(seconds) if usable() else nullcontext():  # usable: SIGALRM, main thread
            response = call_wsgi(watched, path, method, dict(pairs), body, query, protocol="HTTP/1.1")
    except TimeLimit:
        failure = f"the app did not return within {seconds:g} s"
    except WSGIRuleBroken as error:
        failure = f"the app broke a WSGI rule: {error}"
    except Exception as error:  # the app's own exception: a server would answer 500
        failure = f"the app raised {type(error).__name__}: {error}"
    if failure:
        return Exchange(name, request, note=failure, inside=_environ_text(seen), inside_title=WSGI_TITLE)
    answer = _built(response.status_code, response.reason, response.headers.pairs, response.content)
    return Exchange(name, request, answer, "no server: the response is built from what the app returned",
                    _environ_text(seen), WSGI_TITLE)


def _environ_text(environ):
    lines = []
    for key in sorted(environ):
        value = environ[key]
        if not isinstance(value, (str, int, float, bool, tuple, type(None))):
            value = f"<{type(value).__module__}.{type(value).__name__}>"  # no memory addresses
        lines.append(f"    {key} = {value!r}" if isinstance(value, str) and not value.startswith("<")
                     else f"    {key} = {value}")
    return "\n".join(lines) or "    (the app was not called)"


def _asgi(app, name, method, path, pairs, body, request, seconds):
    """Drive an ASGI app in-process (coursekit.asgi_driver) and list the messages of the exchange."""
    from coursekit.asgi_driver import http_scope, run_http

    path, _, query = path.partition("?")
    raw = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in pairs]
    response = run_http(app, method, path, [body], raw, query.encode(), timeout=seconds)
    scope = http_scope(method, path, query.encode(), raw)
    lines = ["    scope = {"] + [f"        {k!r}: {v!r}," for k, v in scope.items()] + ["    }"]
    lines.append(f"    receive() -> {{'type': 'http.request', 'body': {body!r}, 'more_body': False}}")
    lines += [f"    send({message!r})" for message in response.messages]
    notes = [str(p) for p in response.problems]
    if response.error is not None:
        notes.append(f"the app raised {type(response.error).__name__}: {response.error}")
    notes += response.blocked
    answer = b""
    if response.status_code is not None:
        answer = _built(response.status_code, _reason(response.status_code), response.headers.pairs,
                        response.content)
    note = "; ".join(notes) or "no server: the response is built from the messages the app sent"
    return Exchange(name, request, answer, note, "\n".join(lines), ASGI_TITLE)


def _reason(code):
    from http import HTTPStatus
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return ""


def _built(code, reason, pairs, content):
    head = f"HTTP/1.1 {code} {reason}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in pairs) + "\r\n"
    return head.encode("latin-1", "replace") + content


# ----- the widgets -------------------------------------------------------------------------

def stored_run() -> bool:
    return os.environ.get(STORED_RUN) == "1"


def _pre(text: str) -> str:
    return f"<pre style='margin:0;white-space:pre-wrap'>{html.escape(text)}</pre>"


def explorer(server=None, method: str = "GET", path: str = "/", headers: str = "", body: str = ""):
    """An HTTP request explorer for a launched server (default: the newest) or an in-process app.

    Returns the widget (a cell that ends with it shows it). In the stored run it sends the request
    from code and prints `Exchange.summary()` instead, and returns None.
    """
    choices = _targets(server)
    if stored_run():
        target = choices[0][1] if choices else None
        print(send(target, method, path, headers, body).summary())
        return None
    import ipywidgets as w

    wide = w.Layout(width="95%")
    view = w.VBox(layout=w.Layout(border="1px solid #ccc", padding="6px"))
    view.target = w.Dropdown(options=choices or [("(no server running: launch one)", None)],
                             description="Server", layout=wide)
    view.method = w.Dropdown(options=METHODS if method in METHODS else (method, *METHODS),
                             value=method, description="Method")
    view.path = w.Text(value=path, description="Path", layout=wide)
    view.headers = w.Textarea(value=headers, description="Headers", placeholder="Name: value (one a line)",
                              layout=wide)
    view.body = w.Textarea(value=body, description="Body", layout=wide)
    view.send_button = w.Button(description="Send", button_style="primary")
    view.reload_button = w.Button(description="Reload servers")
    view.note = w.HTML()
    view.request_view, view.response_view, view.inside_view = w.HTML(), w.HTML(), w.HTML()
    view.exchange = None

    def on_send(_):
        view.note.value = "<i>sending...</i>"
        done = send(view.target.value, view.method.value, view.path.value, view.headers.value,
                    view.body.value)
        view.exchange = done
        view.note.value = html.escape(done.note)
        view.request_view.value = "<b>Request</b>" + _pre(wire_text(done.request) if done.request else "    (none)")
        view.response_view.value = "<b>Response</b>" + _pre(wire_text(done.response) if done.response else "    (none)")
        view.inside_view.value = (f"<b>{html.escape(done.inside_title)}</b>" + _pre(done.inside)
                                  if done.inside else "")

    def on_reload(_):
        chosen = view.target.value
        options = _targets(server) or [("(no server running: launch one)", None)]
        view.target.options = options
        if any(value is chosen for _, value in options):
            view.target.value = chosen

    view.send_button.on_click(on_send)
    view.reload_button.on_click(on_reload)
    view.children = [view.target, w.HBox([view.method, view.path]), view.headers, view.body,
                     w.HBox([view.send_button, view.reload_button]), view.note,
                     view.request_view, view.response_view, view.inside_view]
    view.add_class("coursekit-explorer")
    return view


explorer.send = send  # the plain function underneath, reachable from the widget's name


def _targets(given):
    """(label, target) pairs: the given app or server first, then every running server."""
    pairs = [(describe(s), s) for s in reversed(servers.running())]  # newest first
    if given is not None:
        pairs = [(describe(given), given)] + [p for p in pairs if p[1] is not given]
    return pairs


def status(server: Server) -> str:
    """'running', 'exited with code N' (it stopped by itself) or 'stopped' (stop() was called)."""
    code = server.process.poll()
    if code is None:
        return "running"
    if server in servers.launched():
        return f"exited with code {code}"
    return "stopped"


def server_panel():
    """The servers launched in this kernel: link, status, log tail (Refresh) and a Stop button.

    Returns the widget; in the stored run it prints a summary that is the same on every run.
    """
    listed = servers.launched()
    if stored_run():
        print(panel_summary(listed))
        return None
    import ipywidgets as w

    panel = w.VBox()
    panel.rows = []
    panel.refresh_button = w.Button(description="Refresh", icon="refresh")

    def rebuild(_=None):
        known = {id(row.server) for row in panel.rows}
        panel.rows += [_server_row(s) for s in servers.launched() if id(s) not in known]
        for row in panel.rows:
            row.refresh()
        empty = [w.HTML("<i>No server launched in this kernel yet.</i>")] if not panel.rows else []
        panel.children = [panel.refresh_button, *empty, *panel.rows]

    panel.refresh_button.on_click(rebuild)
    panel.refresh = rebuild
    rebuild()
    panel.add_class("coursekit-servers")
    return panel


def _server_row(server):
    import ipywidgets as w

    link = server.browser_url
    row = w.VBox(layout=w.Layout(border="1px solid #ccc", padding="4px", margin="2px 0"))
    row.server = server
    row.title = w.HTML(f"<b>{html.escape(server.name)}</b> ({html.escape(server.kind)}) "
                       f"<a href='{html.escape(link)}' target='_blank'>{html.escape(link)}</a>")
    row.status_view, row.log_view = w.HTML(), w.HTML()
    row.refresh_button = w.Button(description="Refresh log")
    row.stop_button = w.Button(description="Stop", button_style="danger")

    def refresh(_=None):
        said = status(server)
        row.status_view.value = f"Status: <b>{said}</b>"
        row.stop_button.disabled = said == "stopped"
        row.log_view.value = _pre(log_tail(server.log_path, 12) or "(its log is empty)")

    def stop(_):
        try:
            server.stop()
        except servers.ServerError as error:
            row.status_view.value = f"Status: {html.escape(str(error))}"
            return
        refresh()

    row.refresh = refresh
    row.refresh_button.on_click(refresh)
    row.stop_button.on_click(stop)
    row.children = [row.title, row.status_view, w.HBox([row.refresh_button, row.stop_button]), row.log_view]
    refresh()
    return row


def panel_summary(listed: list[Server]) -> str:
    """What the panel would show, without ports, process ids or log lines (they vary)."""
    if not listed:
        return "Server panel: no server launched in this kernel yet."
    lines = [f"Server panel: {len(listed)} server{'s' if len(listed) > 1 else ''}, each with a link, "
             "its status, the tail of its log (Refresh) and a Stop button."]
    for server in listed:
        lines.append(f"  {server.name} ({server.kind}) at {_stable(server.browser_url)}: {status(server)}")
    return "\n".join(lines)
