"""Drive an ASGI app in the kernel: `run_http`, `run_lifespan` and `run_websocket` answer an
ASGIResponse (coursekit.inprocess's response shape, plus the messages sent and what went wrong).

The app runs on an event loop of its own, in this thread, through the message-order checker of
coursekit.asgi_order; the client side waits on the app's messages (events), never on sleeps. An app
that blocks the event loop (time.sleep, a loop without await) is noted in `blocked` and, if it never
returns, stopped by a deadline: nothing is left running. An endless stream (server-sent events) is
read until the client has what it came for (`max_events`, `until`); then the client leaves, as a
browser does, and the app hears http.disconnect.
"""
import asyncio
import re
import threading
import time
from contextlib import contextmanager

from coursekit.asgi_order import OrderChecker
from coursekit.deadlines import TimeLimit, deadline, usable
from coursekit.inprocess import Response

TIMEOUT = 5  # seconds an in-process call may take
BLOCK_LIMIT = 1.0  # seconds without a turn of the event loop that surely mean it was blocked


class ClientDisconnected(OSError):
    """What send() raises once the client has left, as uvicorn does (ASGI spec 2.4)."""


class ASGIResponse(Response):
    """One in-process ASGI run: the response, plus every message the client got, the rules broken
    (problems), the app's own exception (error), what blocked the event loop (blocked), and whether
    the client left before the response was complete (client_left: it had read what it came for)."""

    def __init__(self, messages, problems, error=None, blocked=(), client_left=False):
        self.messages, self.problems, self.error = messages, problems, error
        self.blocked, self.client_left = list(blocked), client_left
        start = next((m for m in messages if isinstance(m, dict) and m.get("type") == "http.response.start"),
                     {})
        pairs = []
        for pair in start.get("headers", []) if start else []:
            try:
                name, value = pair
                pairs.append((bytes(name).decode("latin-1"), bytes(value).decode("latin-1")))
            except (TypeError, ValueError):
                pass  # a malformed header is already reported in problems
        self.body_messages = _bodies(messages)
        content = b"".join(bytes(m.get("body", b"")) for m in self.body_messages
                           if isinstance(m.get("body", b""), (bytes, bytearray)))
        super().__init__(start.get("status"), "", pairs, content)

    @property
    def status(self):  # the names asgi_order's Result had
        return self.status_code

    @property
    def body(self):
        return self.content

    def __repr__(self):
        left = " client_left=True" if self.client_left else ""
        return (f"<ASGIResponse status={self.status_code} problems={len(self.problems)} "
                f"error={self.error!r}{left}>")


_WATCHED = {}  # event loop -> its _Watch, while run_coroutine drives it
_REAL_SLEEP = time.sleep


def _watched_sleep(seconds):
    """time.sleep, which also notes a call made inside a driven event loop (it blocks the loop)."""
    watch = _WATCHED.get(asyncio.events._get_running_loop())
    if watch is not None:
        note = (f"time.sleep({seconds!r}) ran inside async code: it stops the whole event loop, "
                f"and every other request waits. Use `await asyncio.sleep({seconds!r})`.")
        if note not in watch.notes:
            watch.notes.append(note)
    return _REAL_SLEEP(seconds)


@contextmanager
def sleep_watched():
    """Let time.sleep note calls from inside driven loops; import a student's module in this block
    so that `from time import sleep` is noted too (outside a driven loop it only sleeps)."""
    previous, time.sleep = time.sleep, _watched_sleep
    try:
        yield
    finally:
        time.sleep = previous


class _Watch:
    """Notes what blocks a running event loop: time.sleep() inside it, and long gaps between turns."""

    def __init__(self):
        self.notes, self.longest = [], 0.0

    async def heartbeat(self):
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            self.longest = max(self.longest, time.monotonic() - before - 0.01)

    def summary(self):
        notes = list(self.notes)
        if self.longest > BLOCK_LIMIT and not notes:
            notes.append(f"the event loop was blocked for {self.longest:.1f} s at once: a loop "
                         "without await, or a blocking call inside async def?")
        return notes


def run_coroutine(make_coroutine, timeout=TIMEOUT):
    """Run `make_coroutine()` on a fresh event loop in this thread, within `timeout` seconds.

    Returns (value, error, blocked notes). An app that awaits forever or blocks the loop is
    stopped; nothing it started keeps running afterwards.
    """
    if not usable():  # no SIGALRM here: a helper thread, which a blocking app may outlive
        return _run_in_helper_thread(make_coroutine, timeout)
    loop = asyncio.new_event_loop()
    watch = _WATCHED[loop] = _Watch()
    outer = asyncio.events._get_running_loop()  # a notebook's kernel runs a loop of its own
    value = error = None
    asyncio.events._set_running_loop(None)
    try:
        async def main():
            beat = asyncio.ensure_future(watch.heartbeat())
            try:
                return await asyncio.wait_for(make_coroutine(), timeout)
            finally:
                beat.cancel()

        with deadline(timeout + 0.5), sleep_watched():
            value = loop.run_until_complete(main())
    except (asyncio.TimeoutError, TimeoutError):
        error = TimeoutError(f"the app did not return within {timeout} s: is it waiting on "
                             "receive() for a message that never comes?")
    except TimeLimit:
        error = TimeoutError(f"the app did not return within {timeout} s: it blocks the event loop "
                             "(time.sleep, a loop without await) instead of awaiting")
        watch.longest = max(watch.longest, timeout)
    except Exception as raised:  # the app's own exception, reported by the caller
        error = raised
    finally:
        _close(loop)
        del _WATCHED[loop]
        asyncio.events._set_running_loop(outer)
    return value, error, watch.summary()


def _close(loop):
    """Cancel whatever the app left on the loop, give it a moment to finish, and close the loop."""
    try:
        with deadline(1):
            tasks = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=0.5))
            loop.run_until_complete(loop.shutdown_asyncgens())
    except (TimeLimit, Exception):
        pass  # a task that refuses to stop is dropped with its loop
    finally:
        loop.close()


def _run_in_helper_thread(make_coroutine, timeout):
    outcome = {}

    def target():
        loop = asyncio.new_event_loop()
        try:
            outcome["value"] = loop.run_until_complete(asyncio.wait_for(make_coroutine(), timeout))
        except BaseException as error:  # reported to the caller, never lost in the thread
            outcome["error"] = error
        finally:
            loop.close()

    thread = threading.Thread(target=target, daemon=True, name="coursekit-inprocess")
    thread.start()
    thread.join(timeout + 1)
    if thread.is_alive():
        return None, TimeoutError(f"the app did not return within {timeout} s: it blocks the event "
                                  "loop (time.sleep, a loop without await)"), []
    error = outcome.get("error")
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        error = TimeoutError(f"the app did not return within {timeout} s: is it waiting on "
                             "receive() for a message that never comes?")
    return outcome.get("value"), error, []


def http_scope(method="GET", path="/", query=b"", headers=(), state=None):
    """A scope like the one uvicorn builds for an HTTP/1.1 request on 127.0.0.1 (with a Host header
    of 127.0.0.1 unless `headers` has one: every HTTP/1.1 request carries one)."""
    headers = list(headers)
    if not any(name.lower() == b"host" for name, _ in headers):
        headers.insert(0, (b"host", b"127.0.0.1"))
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "http_version": "1.1", "method": method, "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": headers,
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
    if state is not None:
        scope["state"] = dict(state)  # servers give each request a shallow copy
    return scope


class _Client:
    """The server's side of one in-process connection: hands out messages, records what the app
    sent, and lets the client wait until the app has sent something that matters. Once the client
    has left (`left`), send() raises ClientDisconnected, as a real server's does."""

    def __init__(self, incoming):
        self.queue, self.sent, self.arrived, self.left = list(incoming), [], None, False

    async def send(self, message):
        if self.left:
            raise ClientDisconnected("the client has left; listen for http.disconnect on receive() "
                                     "and stop sending")
        self.sent.append(message)
        self.arrived.set()

    async def until(self, condition, seconds=None):
        """Wait until condition(sent messages) holds; False if `seconds` pass first."""
        async def wait():
            while not condition(self.sent):
                self.arrived.clear()
                await self.arrived.wait()
        try:
            await asyncio.wait_for(wait(), seconds)
            return True
        except asyncio.TimeoutError:
            return False


def _drive(app, scope, incoming, timeout, strict=False, after=None, enough=None):
    """Feed `incoming` to receive(); once they run out, `await after(client)` gives the next.
    `enough(sent)`, if given, says when the client has read what it came for and leaves."""
    checker = OrderChecker(app, strict=strict)
    client = _Client(incoming)

    async def run():
        client.arrived = asyncio.Event()

        async def receive():
            if client.queue:
                return client.queue.pop(0)
            return await after(client)

        async def leave_when_enough():
            await client.until(lambda sent: _complete(sent) or enough(sent))
            client.left = not _complete(client.sent)
            client.arrived.set()  # wakes a receive() that waits for the end

        leaving = asyncio.ensure_future(leave_when_enough()) if enough else None
        try:
            await checker(scope, receive, client.send)
        except ClientDisconnected:
            pass  # the app kept sending after the client left, and send() told it so: not a bug
        finally:
            if leaving:
                leaving.cancel()

    _, error, blocked = run_coroutine(run, timeout)
    if isinstance(error, TimeoutError) and _streaming(client.sent):
        error = TimeoutError(f"the response was still streaming after {timeout} s "
                             f"({len(_bodies(client.sent))} body messages so far, more_body True): an "
                             "endless stream is fine, but then say when the client has read "
                             "enough, e.g. run_http(app, max_events=3) or until=...")
    return ASGIResponse(list(client.sent), checker.problems, error, blocked, client.left)


def _bodies(sent):
    return [m for m in sent if isinstance(m, dict) and m.get("type") == "http.response.body"]


def _complete(sent):
    return any(not m.get("more_body") for m in _bodies(sent))


def _streaming(sent):
    """The response has sent body messages, and has not ended."""
    return bool(_bodies(sent)) and not _complete(sent)


def _body(sent):
    return b"".join(bytes(m.get("body", b"")) for m in _bodies(sent)
                    if isinstance(m.get("body", b""), (bytes, bytearray)))


def count_events(body: bytes) -> int:
    """How many server-sent events `body` holds: each one ends with an empty line."""
    text = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return len(re.findall(rb"\n\n", text))


async def _disconnect_when_done(client):
    # Like a real server: after the whole body, receive() waits until the client goes away.
    await client.until(lambda sent: client.left or _complete(sent))
    return {"type": "http.disconnect"}


def run_http(app, method="GET", path="/", body_chunks=(), headers=(), query=b"", state=None,
             timeout=TIMEOUT, max_events=None, until=None):
    """Send one request to `app` in-process, the body split into `body_chunks`; an ASGIResponse.

    For a stream that does not end by itself (server-sent events), the client leaves once it has
    `max_events` events, or once `until(body so far)` is true: the app then gets http.disconnect
    from receive() (and ClientDisconnected from send()), as from a real server."""
    chunks = list(body_chunks) or [b""]
    incoming = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                for i, chunk in enumerate(chunks)]
    scope = http_scope(method, path, query, headers, state)
    enough = None
    if max_events is not None or until is not None:
        def enough(sent):
            body = _body(sent)
            return ((max_events is not None and count_events(body) >= max_events)
                    or (until is not None and bool(until(body))))
    return _drive(app, scope, incoming, timeout, after=_disconnect_when_done, enough=enough)


def run_lifespan(app, state=None, timeout=TIMEOUT):
    """Run startup then shutdown; `state` (a dict) is the lifespan state the app may fill."""
    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"},
             "state": state if state is not None else {}}
    shutdown = [{"type": "lifespan.shutdown"}]

    async def after(client):
        await client.until(lambda sent: sent)  # shut down only once startup has been answered
        if shutdown:
            return shutdown.pop()
        await asyncio.Event().wait()  # nothing more comes: a server would be gone

    return _drive(app, scope, [{"type": "lifespan.startup"}], timeout, after=after)


def run_websocket(app, texts, path="/", timeout=TIMEOUT, reply_seconds=1):
    """Connect to `app` in-process, send each of `texts` (waiting up to `reply_seconds` for each
    answer), then disconnect; returns an ASGIResponse."""
    scope = {"type": "websocket", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "http_version": "1.1", "scheme": "ws", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": [(b"host", b"127.0.0.1")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "subprotocols": []}
    pending = [{"type": "websocket.receive", "text": text} for text in texts]
    given = []

    def answered_or_closed(sent):
        closed = any(m.get("type") == "websocket.close" for m in sent)
        return closed or sum(m.get("type") == "websocket.send" for m in sent) >= len(given)

    async def after(client):
        # The client speaks once the app accepted, waits for each echo, and leaves at the end.
        await client.until(lambda sent: sent)  # the app's first word: accept, close, or a mistake
        opened = client.sent[0].get("type") == "websocket.accept"
        await client.until(answered_or_closed, reply_seconds)
        closed = any(m.get("type") == "websocket.close" for m in client.sent)
        if opened and pending and not closed:
            given.append(pending.pop(0))
            return given[-1]
        return {"type": "websocket.disconnect", "code": 1000}

    return _drive(app, scope, [{"type": "websocket.connect"}], timeout, after=after)


def run_in_thread(make_coroutine, timeout=TIMEOUT):
    """Run `make_coroutine()` within `timeout` seconds; (value, error), as asgi_order had it."""
    value, error, _ = run_coroutine(make_coroutine, timeout)
    return value, error
