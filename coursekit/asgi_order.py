"""Check that an ASGI app sends its messages in the order the specification asks, in plain words.

`OrderChecker(app)` wraps an app and records every send(); `run_http`, `run_lifespan` and
`run_websocket` drive an app in-process, in a thread with its own event loop and a deadline
(a notebook's kernel already runs a loop, so `asyncio.run` cannot be used in a cell).
"""
TIMEOUT = 5


class ASGIOrderError(AssertionError):
    """An app broke the ASGI message rules; raised by OrderChecker(app, strict=True)."""


class OrderChecker:
    """An ASGI app that runs `app` and notes every send() that breaks the ASGI rules.

    After a call, `messages` holds what the app sent and `problems` what was wrong, each as a
    sentence a student can act on. With strict=True the first problem raises ASGIOrderError.
    One checker follows one connection at a time: make one per call when serving many.
    """

    def __init__(self, app, strict=False):
        self.app, self.strict = app, strict
        self.messages, self.problems = [], []

    async def __call__(self, scope, receive, send):
        self.messages, self.problems = [], []
        kind = scope.get("type")
        state = {"started": False, "finished": False, "accepted": False, "closed": False,
                 "waiting_for": None}  # lifespan: the reply the app owes ("startup"/"shutdown")

        async def checked_receive():
            message = await receive()
            if kind == "lifespan" and message.get("type") in ("lifespan.startup", "lifespan.shutdown"):
                state["waiting_for"] = message["type"].split(".")[1]
            return message

        async def checked_send(message):
            self._check(kind, message, state)
            self.messages.append(message)
            await send(message)

        await self.app(scope, checked_receive, checked_send)
        self._check_finished(kind, state)

    def _problem(self, text):
        self.problems.append(text)
        if self.strict:
            raise ASGIOrderError(text)

    def _check(self, kind, message, state):
        if not isinstance(message, dict) or "type" not in message:
            return self._problem(f"send() got {message!r}: every ASGI message is a dict with a "
                                 "'type' key, such as {'type': 'http.response.start', ...}.")
        if kind == "http":
            self._check_http(message, state)
        elif kind == "lifespan":
            self._check_lifespan(message, state)
        elif kind == "websocket":
            self._check_websocket(message, state)

    def _check_http(self, message, state):
        kind = message["type"]
        if state["finished"]:
            return self._problem(f"{kind} was sent after the response was complete. The last "
                                 "http.response.body (more_body False, the default) ends the "
                                 "response: send nothing after it.")
        if kind == "http.response.start":
            if state["started"]:
                return self._problem("http.response.start was sent twice. Send it exactly once, "
                                     "before the first http.response.body.")
            state["started"] = True
            status = message.get("status")
            if not isinstance(status, int) or isinstance(status, bool):
                self._problem(f"'status' is {status!r}: it must be an int such as 200 or 404 "
                              "(not a WSGI-style string like '200 OK').")
            self._check_headers(message.get("headers", []))
        elif kind == "http.response.body":
            if not state["started"]:
                return self._problem("http.response.body was sent before http.response.start. "
                                     "Send the start message (status and headers) first.")
            body = message.get("body", b"")
            if not isinstance(body, (bytes, bytearray)):
                self._problem(f"'body' is a {type(body).__name__}: it must be bytes. "
                              "Encode text first, e.g. text.encode().")
            if not message.get("more_body", False):
                state["finished"] = True
        else:
            self._problem(f"{kind!r} is not a message an http app can send. It sends "
                          "'http.response.start' once, then one or more 'http.response.body'.")

    def _check_headers(self, headers):
        if isinstance(headers, (str, bytes, dict)) or not hasattr(headers, "__iter__"):
            return self._problem(f"'headers' is a {type(headers).__name__}: it must be a list "
                                 "of [name, value] pairs, e.g. [(b'content-type', b'text/plain')].")
        for pair in headers:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                return self._problem(f"the header {pair!r} is not a pair: write each header as "
                                     "(name, value), e.g. (b'content-type', b'text/plain').")
            name, value = pair
            if not isinstance(name, bytes) or not isinstance(value, bytes):
                return self._problem(f"the header {pair!r} must hold two bytes objects, like "
                                     "(b'content-type', b'text/plain'): encode str with .encode().")

    def _check_lifespan(self, message, state):
        kind, waiting = message["type"], state["waiting_for"]
        if waiting is None:
            return self._problem(f"{kind} was sent without a lifespan.startup or lifespan.shutdown "
                                 "to answer. Call receive() first and answer the message it returns.")
        allowed = (f"lifespan.{waiting}.complete", f"lifespan.{waiting}.failed")
        if kind not in allowed:
            return self._problem(f"lifespan.{waiting} was answered with {kind!r}: answer it with "
                                 f"'{allowed[0]}' (or '{allowed[1]}' if it went wrong).")
        state["waiting_for"] = None

    def _check_websocket(self, message, state):
        kind = message["type"]
        if state["closed"]:
            return self._problem(f"{kind} was sent after websocket.close: the connection is over.")
        if kind == "websocket.accept":
            if state["accepted"]:
                return self._problem("websocket.accept was sent twice; accept once.")
            state["accepted"] = True
        elif kind == "websocket.send":
            if not state["accepted"]:
                return self._problem("websocket.send came before websocket.accept. Accept the "
                                     "connection first (after receiving websocket.connect).")
            if message.get("text") is None and message.get("bytes") is None:
                self._problem("websocket.send needs a 'text' (str) or 'bytes' (bytes) key.")
        elif kind == "websocket.close":
            state["closed"] = True
        else:
            self._problem(f"{kind!r} is not a message a websocket app can send: use "
                          "websocket.accept, websocket.send or websocket.close.")

    def _check_finished(self, kind, state):
        if self.problems:
            return  # the first problem explains the rest; one fix at a time
        if kind == "http" and not state["started"]:
            self._problem("the app returned without sending http.response.start: every request "
                          "needs a response (status and headers, then a body).")
        elif kind == "http" and not state["finished"]:
            self._problem("the app returned before the response was complete: the last "
                          "http.response.body must have more_body False (the default).")
        elif kind == "lifespan" and not self.messages:
            self._problem("the app returned without answering lifespan.startup: call receive() "
                          "and answer lifespan.startup with 'lifespan.startup.complete'.")
        elif kind == "websocket" and not (state["accepted"] or state["closed"]):
            self._problem("the app returned without accepting the connection: answer "
                          "websocket.connect with websocket.accept (or websocket.close to refuse).")
        elif kind == "lifespan" and state["waiting_for"]:
            self._problem(f"the app returned without answering lifespan.{state['waiting_for']}: "
                          f"send 'lifespan.{state['waiting_for']}.complete' first.")


# The in-process driver moved to coursekit.asgi_driver (this module keeps the rules); the names stay
# importable from here.
from coursekit.asgi_driver import (ASGIResponse as Result, http_scope, run_http,  # noqa: E402
                                   run_in_thread, run_lifespan, run_websocket)
