"""Lab 07, the bookmarks contract in aiohttp: each stage of coursekit.contract against the student's
app under aiohttp's own server, a look for blocking calls in coroutines (in the source and on the
wire), a body limit that answers before reading, a WebSocket chat, a concurrent client measured by a
server that counts what it sees, a student's own test run against a broken store, and a race of
mirrors (the first good answer wins)."""
import ast
import asyncio
import base64
import os
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

import requests

from coursekit.checks import CheckFailed, exercise
from coursekit.contract import ENV_API_KEY, ENV_DB, MAX_BODY
from coursekit.labs import contract_checks as shared
from coursekit.labs.contract_checks import fresh_env, function_in, source_of
from coursekit.servers import REQUEST_SECONDS

APP = "apps/bookmarks_aiohttp.py"
STORE = "apps/bookmarks_store.py"
FACTORY = "create_app"
WS_SECONDS = 10  # for a chat message: a valid room answers in milliseconds, a busy host in seconds
# Holding a query open: how long the check waits for a request to reach its SELECT, and how long
# /health may take meanwhile. The query is held until the check lets go (GATE_SECONDS at most, in
# case the check itself dies), so a blocked loop never answers /health, however long it is given.
REACH_SECONDS = 15
HEALTH_SECONDS = 10
GATE_SECONDS = 60
# Calls that block the thread they run in; in a coroutine that thread is the event loop's.
BLOCKING = {("time", "sleep"), ("requests", "get"), ("requests", "post"), ("requests", "request")}
BLOCKING_MODULES = {"sqlite3", "store", "bookmarks_store"}
# A stand-in for sqlite3.connect, loaded through sitecustomize: while the file "hold" exists, a
# SELECT waits for it to go, so the check can see whether the server still answers meanwhile.
GATE = f'''
import os, sqlite3, time
from pathlib import Path

_gate = Path(os.environ["COURSEKIT_DB_GATE"])


class _Gated(sqlite3.Connection):
    def execute(self, sql, *args):
        if (_gate / "hold").exists() and sql.lstrip().upper().startswith("SELECT"):
            (_gate / "entered").touch()
            deadline = time.monotonic() + {GATE_SECONDS}
            while (_gate / "hold").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        return super().execute(sql, *args)


_connect = sqlite3.connect


def connect(*args, **kwargs):
    kwargs.setdefault("factory", _Gated)
    return _connect(*args, **kwargs)


sqlite3.connect = connect
'''


def serve(t, extra_env=None):
    """The student's app under aiohttp on a fresh database and a fresh random key."""
    return shared.serve(t, APP, "aiohttp", app=FACTORY, env=fresh_env(t, **(extra_env or {})))


def contract_stage(t, stage, served=None):
    shared.contract_stage(t, stage, served or serve(t))


def blocking_calls(path):
    """'line N in f(): time.sleep(...)' for each blocking call made directly in an async def."""
    found = []
    for function in ast.walk(ast.parse(source_of(path))):
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        for node in ast.walk(function):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)):
                continue
            owner, name = node.func.value.id, node.func.attr
            if (owner, name) in BLOCKING or owner in BLOCKING_MODULES:
                found.append(f"line {node.lineno} in {function.name}(): {ast.unparse(node.func)}(...)")
    return found


def no_blocking_calls(t, path):
    with t.part(f"no coroutine in {path} calls time.sleep, sqlite3 or the store directly",
                hint="In async def, a blocking call stops the event loop and every other request "
                     "with it: write await asyncio.to_thread(store.add_bookmark, ...) instead."):
        found = blocking_calls(path)
        t.expect(not found, "every blocking call wrapped in asyncio.to_thread", "; ".join(found[:3]))


def loop_stays_free(t):
    """While one request waits inside SQLite, /health must still be answered."""
    gate = Path(tempfile.mkdtemp(prefix="lab07-gate-"))
    (gate / "sitecustomize.py").write_text(GATE)
    path = os.pathsep.join(p for p in (str(gate), os.environ.get("PYTHONPATH", "")) if p)
    server, *_ = serve(t, {"COURSEKIT_DB_GATE": str(gate), "PYTHONPATH": path})
    (gate / "hold").touch()
    slow = {}
    waiting = threading.Thread(target=lambda: slow.update(r=server.get("/api/bookmarks", timeout=GATE_SECONDS)),
                               daemon=True)
    try:
        waiting.start()
        with t.part("a request is inside a database query (the check holds the query open)",
                    hint="Open the database with sqlite3.connect(...) in bookmarks_store.py and run "
                         "queries with execute(), as the given code does.", seconds=REACH_SECONDS + 5):
            deadline = time.monotonic() + REACH_SECONDS
            while not (gate / "entered").exists() and time.monotonic() < deadline:
                time.sleep(0.02)
            t.expect((gate / "entered").exists(), "GET /api/bookmarks to reach a SELECT",
                     f"no SELECT within {REACH_SECONDS} s")
        with t.part("meanwhile the server still answers GET /health: the query does not block the loop",
                    hint="Call the store with await asyncio.to_thread(...): a plain call runs SQLite on "
                         "the event loop's own thread, and every other request waits for it.",
                    seconds=HEALTH_SECONDS + 5):
            try:
                answered = server.get("/health", timeout=HEALTH_SECONDS).status_code
            except requests.Timeout:
                answered = f"no answer within {HEALTH_SECONDS} s (the event loop was blocked)"
            t.expect(answered == 200, "200 while the other request waits in SQLite", answered)
    finally:
        (gate / "hold").unlink(missing_ok=True)
        waiting.join(GATE_SECONDS)
    with t.part("the held request finishes once the query goes on"):
        response = slow.get("r")
        t.expect(response is not None and response.status_code == 200, "200",
                 response.status_code if response is not None else "no answer")


@exercise("7.1")
def routes_and_json(t):
    with t.part(f"the routes are in a RouteTableDef in {APP}",
                hint="Keep routes = web.RouteTableDef() and decorate the handlers with @routes.get/post/..."):
        t.expect("RouteTableDef()" in source_of(APP), "routes = web.RouteTableDef()", "none")
    no_blocking_calls(t, APP)
    contract_stage(t, "routes")


@exercise("7.2")
def storage(t):
    no_blocking_calls(t, APP)
    contract_stage(t, "storage")
    loop_stays_free(t)


ANNOUNCED = 10 * 1024 * 1024  # what the early-413 probe announces in Content-Length, and never sends


def status_before_body(server, key, seconds=REQUEST_SECONDS):
    """The status line the server sends to a POST whose headers announce ANNOUNCED bytes, when
    none of the body has been sent; "" when none came within `seconds`."""
    head = (f"POST /api/bookmarks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {ANNOUNCED}\r\n\r\n")
    received = b""
    with server.connect(timeout=seconds) as sock:
        sock.sendall(head.encode())
        deadline = time.monotonic() + seconds
        try:
            while b"\r\n" not in received and time.monotonic() < deadline:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except OSError:  # a timeout, or the server closed first
            pass
    return received.split(b"\r\n", 1)[0].decode("latin-1")


def chunked_post(server, key, tag, size=4 * MAX_BODY):
    """POST a valid bookmark as a chunked body of about `size` bytes (padded with JSON whitespace),
    so no Content-Length tells the server how much is coming."""
    def body():
        yield b'{"url": "https://example.org/", "title": "Chunked", "tags": ["%s"]' % tag.encode()
        padding = b" " * 16384
        for _ in range(size // len(padding)):
            yield padding
        yield b"}"
    return server.post("/api/bookmarks", data=body(),
                       headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})


def body_limit(t, served):
    """A too-large body is refused without being read: at once when Content-Length says so, and
    at the limit when the body comes chunked."""
    server, key, _, _ = served
    with t.part(f"a POST whose Content-Length announces {ANNOUNCED // 1024 ** 2} MB gets 413 before "
                "any of the body is sent",
                hint="Before reading, compare request.content_length with request.client_max_size and "
                     "raise web.HTTPRequestEntityTooLarge: the headers already say the body is too large.",
                seconds=REQUEST_SECONDS + 5):
        line = status_before_body(server, key)
        t.expect(" 413 " in f"{line} ", "HTTP/1.1 413 while the client still holds the body",
                 line or f"no answer within {REQUEST_SECONDS} s (was the server waiting for the body?)")
    tag = f"chunked-{os.urandom(4).hex()}"
    with t.part(f"a chunked POST of {4 * MAX_BODY // 1024} KB (valid JSON) gets 413 and stores nothing",
                hint="Read the body with await request.read() or request.json(): they stop with a 413 "
                     "past client_max_size. request.content.read() reads the whole stream, without a limit.",
                seconds=2 * REQUEST_SECONDS + 5):
        status = chunked_post(server, key, tag).status_code
        listed = server.get("/api/bookmarks", params={"tag": tag}).json().get("total")
        t.expect((status, listed) == (413, 0), "413, and total 0 for its tag", f"{status}, total {listed}")


@exercise("7.3")
def errors(t):
    with t.part("json_errors is registered as a middleware",
                hint="web.Application(middlewares=[json_errors, ...]) in create_app()."):
        t.expect("json_errors" in source_of(APP).split("def create_app", 1)[-1],
                 "json_errors in create_app()", "not there")
    served = serve(t)
    contract_stage(t, "errors", served)
    body_limit(t, served)


@exercise("7.4")
def auth(t):
    shared.key_compared_safely(
        t, lambda: function_in(APP, "require_key", expected="an async def require_key(request, handler)"),
        r"(?i)key")
    served = serve(t)
    shared.key_from_env_accepted(t, served,
                                 hint=f"Compare with app[API_KEY], which create_app() reads from {ENV_API_KEY}.")
    contract_stage(t, "auth", served)


@exercise("7.5")
def html_page(t):
    with t.part("the template environment escapes HTML (autoescape)",
                hint="jinja2.Environment(..., autoescape=jinja2.select_autoescape()): without it, "
                     "a title with <script> runs in every visitor's browser."):
        t.expect("autoescape" in source_of(APP), "autoescape=... in create_app()", "no autoescape")
    contract_stage(t, "html")


# ----------------------------------------------------------------------------------------------
# 7.6: the chat room, spoken to over real WebSockets.


class Chatter:
    """A minimal WebSocket client on a plain socket: the handshake, text frames, and a rude exit."""

    def __init__(self, port, name):
        self.name = name
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WS_SECONDS)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /chat?name={name} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise CheckFailed(f"a WebSocket handshake for {name}", "the connection closed")
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].decode("latin-1")
        if " 101 " not in status + " ":
            raise CheckFailed(f"101 Switching Protocols on GET /chat?name={name}", status)

    def send(self, text):
        data, mask = text.encode(), os.urandom(4)
        header = bytes([0x81]) + (bytes([0x80 | len(data)]) if len(data) < 126
                                  else bytes([0x80 | 126]) + struct.pack("!H", len(data)))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"the server closed {self.name}'s connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def receive(self):
        """The next text message (pings are answered; a close frame ends the conversation)."""
        while True:
            first, second = self._read(2)
            size = second & 0x7F
            if size == 126:
                size = struct.unpack("!H", self._read(2))[0]
            elif size == 127:
                size = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(size)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError(f"the server closed {self.name}'s WebSocket")
            if opcode == 0x9:  # ping: answer pong with the same payload (masked, as a client must)
                mask = os.urandom(4)
                self.sock.sendall(bytes([0x8A, 0x80 | size]) + mask
                                  + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            elif opcode == 0x1:
                return payload.decode()

    def until(self, *wanted):
        """Read messages until each of `wanted` has arrived (in any order); fail, naming what came
        instead, after a deadline."""
        missing, seen = set(wanted), []
        deadline = time.monotonic() + WS_SECONDS
        while missing and time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                message = self.receive()
            except socket.timeout:
                break
            except ConnectionError as error:
                raise CheckFailed(f"{self.name} to receive {' and '.join(map(repr, wanted))}",
                                  f"{error}; before that {seen}")
            if message in missing:
                missing.discard(message)
            else:
                seen.append(message)
        if missing:
            raise CheckFailed(f"{self.name} to receive {' and '.join(map(repr, sorted(missing)))} "
                              f"within {WS_SECONDS} s", f"only {seen}" if seen else "nothing else")

    def vanish(self):
        """Leave without a goodbye: the TCP connection is reset, as when a laptop lid closes."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self):
        self.sock.close()


def survives_a_failed_send(function) -> bool:
    """Does this broadcast() go on when one send fails (try/except, suppress, return_exceptions)?"""
    for node in ast.walk(function):
        if isinstance(node, ast.Try) and node.handlers:
            return True
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name == "suppress" or any(k.arg == "return_exceptions" for k in node.keywords):
                return True
    return False


@exercise("7.6")
def chat_room(t):
    # Read first: over the wire, a dead chatter is usually dropped by its own handler before anyone
    # sends to it, so a broadcast that stops at the first failed send only sometimes shows.
    with t.part("broadcast() goes on past a chatter who is gone (it handles send_str's error)",
                hint="In broadcast(), catch the ConnectionError of send_str to a chatter who is gone "
                     "and drop them, so the rest of the room is still told who left."):
        function = function_in(APP, "broadcast")
        t.expect(survives_a_failed_send(function),
                 "a try/except (or return_exceptions=True) around the sends", "none: one failed send "
                 "stops the whole broadcast")
    server, *_ = serve(t)
    people = []

    def join(name):
        people.append(Chatter(server.port, name))
        return people[-1]
    try:
        with t.part("alan joins /chat?name=alan and is told 'alan joined'",
                    hint="Add the WebSocketResponse to app[CHATTERS] and broadcast f'{name} joined'."):
            alan = join("alan")
            alan.until("alan joined")
        with t.part("alice, ada and grace join; those already in the room are told each time"):
            alice = join("alice")
            alan.until("alice joined")
            ada = join("ada")
            grace = join("grace")
            ada.until("ada joined", "grace joined")
            grace.until("grace joined")
        with t.part("ada says hello; everyone, ada too, gets 'ada: hello'",
                    hint="For each TEXT message, broadcast f'{name}: {message.data}' to the whole room."):
            ada.send("hello")
            for person in (alan, alice, ada, grace):
                person.until("ada: hello")
        with t.part("alan and alice vanish at once, without a goodbye; ada and grace are told both left",
                    hint="Remove the chatter and broadcast f'{name} left' in a finally: block, so it "
                         "happens however the connection ends; and in broadcast(), catch the "
                         "ConnectionError of send_str to a chatter who is gone and drop them."):
            alan.vanish()
            alice.vanish()
            ada.until("alan left", "alice left")
            grace.until("alan left", "alice left")
        with t.part("after that, bob joins and everyone still gets every message",
                    hint="broadcast() must survive a chatter that is gone: catch the error of "
                         "send_str (ConnectionError) and drop that chatter, instead of crashing."):
            bob = join("bob")
            bob.until("bob joined")
            grace.send("welcome, bob")
            for person in (ada, grace, bob):
                person.until("grace: welcome, bob")
        with t.part("the server still answers GET /health"):
            t.expect(server.get("/health").status_code == 200, "200", "something else")
    finally:
        for person in people:
            person.close()


# ----------------------------------------------------------------------------------------------
# 7.7: a concurrent client, measured by a small aiohttp server that counts what it sees.


OVERLAP_SECONDS = 3  # how long the first request is held for a second one to come alongside


class CountingServer:
    """An aiohttp server on its own loop in a thread: counts requests in flight and connections.

    Requests are held until a second one is in flight, so that a client that sends several at once
    is seen doing so however busy the machine; a client that sends one at a time is found out once
    (OVERLAP_SECONDS), after which nothing is held. Each answer then takes `pause` s, so that a
    client with no limit shows more requests in flight than it may."""

    def __init__(self, pause=0.2):
        self.pause, self.in_flight, self.most, self.peers = pause, 0, 0, set()
        self.overlap, self.one_at_a_time = None, False
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    async def page(self, request):
        from aiohttp import web

        self.peers.add(request.transport.get_extra_info("peername"))
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight > 1:
            self.overlap.set()
        try:
            if request.match_info["n"] == "never":
                await asyncio.sleep(60)
            elif not self.one_at_a_time:
                try:
                    await asyncio.wait_for(self.overlap.wait(), OVERLAP_SECONDS)
                except TimeoutError:
                    self.one_at_a_time = True
                else:
                    await asyncio.sleep(self.pause)
        finally:
            self.in_flight -= 1
        return web.json_response({"page": request.match_info["n"]})

    def add_routes(self, app):
        app.router.add_get("/pages/{n}", self.page)

    def _run(self):
        from aiohttp import web

        asyncio.set_event_loop(self.loop)
        self.overlap = asyncio.Event()
        app = web.Application()
        self.add_routes(app)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        self.loop.run_until_complete(runner.setup())
        listener = socket.create_server(("127.0.0.1", 0))
        self.loop.run_until_complete(web.SockSite(runner, listener).start())
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        self.stopping = asyncio.Event()
        self.ready.set()
        self.loop.run_until_complete(self.stopping.wait())
        self.loop.run_until_complete(runner.cleanup())
        leftover = asyncio.all_tasks(self.loop)  # a handler still waiting on the page that never answers
        for task in leftover:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*leftover, return_exceptions=True))
        self.loop.close()

    def __enter__(self):
        self.thread.start()
        if not self.ready.wait(10):
            raise CheckFailed("the check's own counting server to start", "it did not within 10 s")
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


class MirrorServer(CountingServer):
    """Mirrors for check 7.9: /mirrors/broken answers 503 at once, /mirrors/fast answers 200 only
    after broken has answered (so "the first to finish" is the broken one on any machine), and
    /mirrors/slow never answers: it notes when its connection is closed by the client."""

    def __init__(self):
        super().__init__()
        self.slow_opened, self.slow_closed = 0, 0

    def add_routes(self, app):
        self.broken_answered = asyncio.Event()
        app.router.add_get("/mirrors/{name}", self.mirror)

    async def mirror(self, request):
        from aiohttp import web

        name = request.match_info["name"]
        if name == "broken":
            self.loop.call_later(0.05, self.broken_answered.set)  # once this answer is on its way
            return web.json_response({"error": "down for maintenance"}, status=503)
        if name == "fast":
            try:
                await asyncio.wait_for(self.broken_answered.wait(), 5)
            except TimeoutError:
                pass  # broken was not asked for
            await asyncio.sleep(0.1)
            return web.json_response({"mirror": "fast"})
        if name == "slow":
            self.slow_opened += 1
            try:
                for _ in range(3000):  # 60 s at most
                    if request.transport is None or request.transport.is_closing():
                        break
                    await asyncio.sleep(0.02)
            finally:
                self.slow_closed += 1
            return web.json_response({"mirror": "slow"})
        raise web.HTTPNotFound()


def run_first(first_answer, base_url, paths, deadline, wait):
    """Run the student's first_answer on a loop of its own; (result, error, seconds taken)."""
    box = {}

    def target():
        try:
            box["result"] = asyncio.run(first_answer(base_url, paths, deadline=deadline))
        except BaseException as error:  # handed to the check, which explains it
            box["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(wait)
    if worker.is_alive():
        raise CheckFailed(f"first_answer to finish or give up within {wait:.0f} s", "it was still running")
    return box.get("result"), box.get("error"), time.monotonic() - started


def run_client(fetch_pages, base_url, paths, limit, deadline, wait):
    """Run the student's coroutine on a loop of its own (the kernel's loop runs this cell)."""
    box = {}

    def target():
        try:
            box["result"] = asyncio.run(fetch_pages(base_url, paths, limit=limit, deadline=deadline))
        except BaseException as error:  # handed to the check, which explains it
            box["error"] = error

    worker = threading.Thread(target=target, daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(wait)
    if worker.is_alive():
        raise CheckFailed(f"fetch_pages to finish or give up within {wait:.0f} s", "it was still running")
    return box.get("result"), box.get("error"), time.monotonic() - started


@exercise("7.7")
def concurrent_client(t, fetch_pages):
    t.answered(fetch_pages, "fetch_pages")
    server, key, *_ = serve(t)
    with t.part("fetch_pages fetches 12 bookmarks from your own server, in the order asked",
                hint="Return [await response.json() ...] in the order of paths: asyncio.gather keeps it.",
                seconds=30):
        made = [server.post("/api/bookmarks", json={"url": f"https://example.org/{n}", "title": f"Page {n}"},
                            headers={"Authorization": f"Bearer {key}"}).json() for n in range(12)]
        paths = [f"/api/bookmarks/{item['id']}" for item in reversed(made)]
        result, error, _ = run_client(fetch_pages, server.url, paths, 4, 10, 20)
        if error is not None:
            raise error
        t.expect(result == list(reversed(made)), "the 12 items, in the order of the paths",
                 repr(result)[:200])
    with CountingServer() as counter:
        paths = [f"/pages/{n}" for n in range(24)]
        with t.part("at most `limit` requests at once (limit=4), and more than one",
                    hint="Hold an asyncio.Semaphore(limit) around each request: without it, 10,000 "
                         "paths would open 10,000 connections at once.", seconds=25):
            result, error, _ = run_client(fetch_pages, counter.url, paths, 4, 10, 20)
            if error is not None:
                raise error
            t.expect(1 < counter.most <= 4, "2 to 4 requests in flight at the most",
                     f"{counter.most} at once")
        with t.part("one ClientSession for all requests: its connections are reused (at most 4)",
                    hint="Open one aiohttp.ClientSession with `async with` around all the requests; a "
                         "session per request opens a new connection every time."):
            t.expect(len(counter.peers) <= 4, "at most 4 connections for 24 requests",
                     f"{len(counter.peers)} connections")
        with t.part("a page that never answers: TimeoutError once the deadline (1 s) has passed",
                    hint="Wrap the whole batch in `async with asyncio.timeout(deadline):` (or give the "
                         "session aiohttp.ClientTimeout(total=deadline)).", seconds=15):
            result, error, took = run_client(fetch_pages, counter.url, ["/pages/1", "/pages/never"],
                                             4, 1, 8)
            t.expect(isinstance(error, TimeoutError), "TimeoutError",
                     f"{type(error).__name__}: {error}" if error else f"a result: {result!r}"[:120])
            t.expect(took < 6, "to give up soon after 1 s", f"{took:.1f} s")  # slack for a busy machine


STUDENT_TEST = "apps/test_bookmarks_aiohttp.py"
TEST_SECONDS = shared.TEST_SECONDS
# Loaded into the student's pytest run by check 7.8. With LAB07_BREAK_STORE set, the store answers
# a create as if it had stored the bookmark, and keeps nothing: a test must read it back to notice.
PLUGIN_SOURCE = '''"""Written by lab 07's check 7.8."""
import json
import os


def pytest_configure(config):
    if os.environ.get("LAB07_BREAK_STORE"):
        import bookmarks_store

        def add_and_lose(path, url, title, tags):
            return {"id": 987654, "url": url, "title": title, "tags": list(tags)}
        bookmarks_store.add_bookmark = add_and_lose


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["LAB07_REPORT"], "w") as f:
        json.dump({"collected": session.testscollected}, f)
'''
PYTEST_INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"


@exercise("7.8")
def test_that_can_fail(t):
    run_pytest = shared.student_pytest(t, "lab07", PLUGIN_SOURCE, STUDENT_TEST, ini=PYTEST_INI, drop=(ENV_API_KEY,))

    with t.part(f"{STUDENT_TEST} holds a test, and it passes against your app",
                hint=f"In the fixture, monkeypatch.setenv {ENV_DB} to a file in tmp_path and {ENV_API_KEY} "
                     "to a key of the test's own before create_app(), send the key as 'Authorization: "
                     "Bearer KEY', and read pytest's output below the summary.",
                seconds=TEST_SECONDS + 5):
        source_of(STUDENT_TEST)  # a clear message when the file is missing
        code, summary, output, found = run_pytest()
        t.expect(found["collected"] > 0, "at least one test_... function", "pytest collected no test")
        t.expect(code == 0 and "passed" in summary, "pytest: all passed", f"pytest: {summary}\n{output}")
    with t.part("your test fails against a store that answers a create but keeps nothing",
                hint="After the POST, read the bookmark back (GET its Location, or the list) and assert "
                     "the status and the body: a test that only looks at the 201 cannot catch a lost write.",
                seconds=TEST_SECONDS + 5):
        code, summary, _, _ = run_pytest(LAB07_BREAK_STORE="1")
        t.expect(code != 0, "pytest to report a failure with the broken store", f"pytest: {summary}")


@exercise("7.9")
def first_mirror(t, first_answer):
    t.answered(first_answer, "first_answer")
    with MirrorServer() as mirrors:
        with t.part("with a broken, a slow and a fast mirror, the fast one's JSON comes back at once",
                    hint="Start a task per path (asyncio.create_task) and take them as they finish "
                         "(asyncio.as_completed, or asyncio.wait with FIRST_COMPLETED); a mirror that "
                         "answers an error does not count, so go on to the next. gather() waits for all.",
                    seconds=20):
            paths = ["/mirrors/slow", "/mirrors/broken", "/mirrors/fast"]
            result, error, took = run_first(first_answer, mirrors.url, paths, 10, 15)
            if isinstance(error, TimeoutError):
                raise CheckFailed("the fast mirror's JSON well before the deadline (10 s)",
                                  f"TimeoutError after {took:.1f} s: it waited for the slow mirror")
            if error is not None:
                raise error
            t.expect(result == {"mirror": "fast"}, "{'mirror': 'fast'}", repr(result)[:200])
            t.expect(took < 8, "well before the deadline (10 s): the slow mirror is not waited for",
                     f"{took:.1f} s")
        with t.part("the slow mirror's request is not left running: its connection is closed",
                    hint="Once one answer is in, cancel the other tasks (task.cancel()) and let the "
                         "ClientSession's `async with` close, so no request outlives the function."):
            deadline = time.monotonic() + 5
            while mirrors.slow_closed < mirrors.slow_opened and time.monotonic() < deadline:
                time.sleep(0.02)
            t.expect(mirrors.slow_opened > 0 and mirrors.slow_closed == mirrors.slow_opened,
                     "the slow request closed within 5 s", f"{mirrors.slow_opened - mirrors.slow_closed} "
                     f"of {mirrors.slow_opened} still open" if mirrors.slow_opened else "it was never sent")
        with t.part("when every mirror fails, LookupError (not None, not the error page)",
                    hint="After the last task has failed, raise LookupError(...): the caller must not "
                         "mistake an error page, or None, for the data.", seconds=20):
            result, error, _ = run_first(first_answer, mirrors.url, ["/mirrors/broken", "/mirrors/gone"], 10, 15)
            t.expect(isinstance(error, LookupError), "LookupError",
                     f"{type(error).__name__}: {error}" if error else f"a result: {result!r}"[:120])
        with t.part("when no mirror answers: TimeoutError once the deadline (1 s) has passed",
                    hint="Wrap the whole race in `async with asyncio.timeout(deadline):`.", seconds=15):
            result, error, took = run_first(first_answer, mirrors.url, ["/mirrors/slow", "/mirrors/slow"], 1, 8)
            t.expect(isinstance(error, TimeoutError), "TimeoutError",
                     f"{type(error).__name__}: {error}" if error else f"a result: {result!r}"[:120])
            t.expect(took < 6, "to give up soon after 1 s", f"{took:.1f} s")
