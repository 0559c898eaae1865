"""Check that an ASGI app sends its messages in the order the specification asks, in plain words.

`OrderChecker(app)` wraps an app and records every send(). This module only knows the rules: the
in-process driver (`run_http`, `run_lifespan`, `run_websocket`) is coursekit.asgi_driver, which uses it.
"""


class ASGIOrderError(AssertionError):
    """An app broke the ASGI message rules; raised by OrderChecker(app, strict=True)."""


class OrderChecker:
    """An ASGI app that runs `app` and notes every send() that breaks the ASGI rules.

    One checker may wrap an app that serves many connections, one after another or at the same
    time: each call is followed on its own. `connections` holds one record per call (its scope's
    type, method and path, its messages and its problems), `messages` every message sent, and
    `problems` every rule broken on any connection, each named by its connection when there was
    more than one. With strict=True the first problem raises ASGIOrderError in its connection.
    Messages reach the server unchanged (headers given as a generator are passed on as a list
    of the same pairs, since checking them consumes the generator).
    """

    def __init__(self, app, strict=False):
        self.app, self.strict = app, strict
        self.connections = []  # one Connection per call, in the order the calls began
        self.messages = []  # what the app sent, on every connection, in the order it was sent

    @property
    def problems(self):
        """Every rule broken, on any connection; named by connection when there were several."""
        if len(self.connections) == 1:
            return list(self.connections[0].problems)
        return [f"{connection.name}: {problem}" for connection in self.connections
                for problem in connection.problems]

    async def __call__(self, scope, receive, send):
        kind = scope.get("type")
        connection = Connection(len(self.connections) + 1, scope)
        self.connections.append(connection)
        state = {"started": False, "finished": False, "accepted": False, "closed": False,
                 "disconnected": False, "trailers": False, "denying": False,
                 "extensions": scope.get("extensions") or {},
                 "waiting_for": None,  # lifespan: the reply the app owes ("startup"/"shutdown")
                 "connection": connection}

        async def checked_receive():
            message = await receive()
            received = message.get("type") if isinstance(message, dict) else None
            if kind == "lifespan" and received in ("lifespan.startup", "lifespan.shutdown"):
                state["waiting_for"] = received.split(".")[1]
            if received in ("http.disconnect", "websocket.disconnect"):
                state["disconnected"] = True  # the client left: an unfinished answer is fine
            return message

        async def checked_send(message):
            if isinstance(message, dict) and _is_headers_iterator(message.get("headers")):
                message = dict(message, headers=list(message["headers"]))
            self._check(kind, message, state)
            connection.messages.append(message)
            self.messages.append(message)
            try:
                await send(message)
            except OSError:  # the server says the client has gone (ASGI spec 2.4)
                state["disconnected"] = True
                raise

        await self.app(scope, checked_receive, checked_send)
        self._check_finished(kind, state)

    def _problem(self, state, text):
        state["connection"].problems.append(text)
        if self.strict:
            raise ASGIOrderError(text)

    def _check(self, kind, message, state):
        if not isinstance(message, dict) or "type" not in message:
            return self._problem(state, f"send() got {message!r}: every ASGI message is a dict with a "
                                 "'type' key, such as {'type': 'http.response.start', ...}.")
        if kind == "http":
            self._check_http(message, state)
        elif kind == "lifespan":
            self._check_lifespan(message, state)
        elif kind == "websocket":
            self._check_websocket(message, state)

    def _extension(self, name, state):
        """Is `name` advertised in scope["extensions"]? If not, say which rule that breaks."""
        if name in state["extensions"]:
            return True
        self._problem(state, f"{name!r} is an ASGI extension this server did not advertise in "
                      f"scope['extensions']: send it only when {name!r} is there.")
        return False

    def _check_http(self, message, state, prefix="http."):
        kind = message["type"].removeprefix(prefix)  # "response.start", ... (also for denials)
        full = message["type"]
        if state["finished"] and not (kind == "response.trailers" and state["trailers"]):
            return self._problem(state, f"{full} was sent after the response was complete. The last "
                                 "http.response.body (more_body False, the default) ends the "
                                 "response: send nothing after it.")
        if kind == "response.start":
            if state["started"]:
                return self._problem(state, f"{full} was sent twice. Send it exactly once, before the "
                                     "first body message.")
            state["started"] = True
            state["trailers"] = bool(message.get("trailers", False))
            status = message.get("status")
            if not isinstance(status, int) or isinstance(status, bool):
                self._problem(state, f"'status' is {status!r}: it must be an int such as 200 or 404 "
                              "(not a WSGI-style string like '200 OK').")
            elif not 100 <= status <= 599:
                self._problem(state, f"'status' is {status}: an HTTP status code is between 100 and 599 "
                              "(RFC 9110 15).")
            self._check_headers(message.get("headers", []), state)
        elif kind == "response.body":
            if not state["started"]:
                return self._problem(state, f"{full} was sent before {prefix}response.start. Send the "
                                     "start message (status and headers) first.")
            body = message.get("body", b"")
            if not isinstance(body, (bytes, bytearray)):
                self._problem(state, f"'body' is a {type(body).__name__}: it must be bytes. "
                              "Encode text first, e.g. text.encode().")
            if not message.get("more_body", False):
                state["finished"] = True
        elif prefix == "http." and kind in ("response.pathsend", "response.zerocopysend"):
            if not self._extension(full, state):
                return
            if not state["started"]:
                return self._problem(state, f"{full} was sent before http.response.start.")
            if kind == "response.pathsend" or not message.get("more_body", False):
                state["finished"] = True
        elif prefix == "http." and kind == "response.trailers":
            if not self._extension(full, state):
                return
            if not (state["trailers"] and state["finished"]):
                return self._problem(state, "http.response.trailers needs 'trailers': True in "
                                     "http.response.start and comes after the last body message.")
            self._check_headers(message.get("headers", []), state)
            state["trailers"] = bool(message.get("more_trailers", False))
        elif prefix == "http." and kind in ("response.push", "response.early_hint",
                                            "response.debug"):
            self._extension(full, state)
        else:
            self._problem(state, f"{full!r} is not a message an http app can send. It sends "
                          "'http.response.start' once, then one or more 'http.response.body'.")

    def _check_headers(self, headers, state):
        if isinstance(headers, (str, bytes, dict)) or not hasattr(headers, "__iter__"):
            return self._problem(state, f"'headers' is a {type(headers).__name__}: it must be a list "
                                 "of [name, value] pairs, e.g. [(b'content-type', b'text/plain')].")
        for pair in headers:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                return self._problem(state, f"the header {pair!r} is not a pair: write each header as "
                                     "(name, value), e.g. (b'content-type', b'text/plain').")
            name, value = pair
            if not isinstance(name, bytes) or not isinstance(value, bytes):
                return self._problem(state, f"the header {pair!r} must hold two bytes objects, like "
                                     "(b'content-type', b'text/plain'): encode str with .encode().")
            if name != name.lower():
                return self._problem(state, f"the header name {name!r} has capitals: ASGI header names "
                                     f"are lower-case, like {name.lower()!r}.")
            if any(c in name + value for c in b"\r\n\0"):
                return self._problem(state, f"the header {pair!r} holds a CR, LF or NUL: it could split "
                                     "the response in two (response splitting), so it is refused "
                                     "(RFC 9110 5.5).")

    def _check_lifespan(self, message, state):
        kind, waiting = message["type"], state["waiting_for"]
        if waiting is None:
            return self._problem(state, f"{kind} was sent without a lifespan.startup or lifespan.shutdown "
                                 "to answer. Call receive() first and answer the message it returns.")
        allowed = (f"lifespan.{waiting}.complete", f"lifespan.{waiting}.failed")
        if kind not in allowed:
            return self._problem(state, f"lifespan.{waiting} was answered with {kind!r}: answer it with "
                                 f"'{allowed[0]}' (or '{allowed[1]}' if it went wrong).")
        state["waiting_for"] = None

    def _check_websocket(self, message, state):
        kind = message["type"]
        if state["closed"]:
            return self._problem(state, f"{kind} was sent after websocket.close: the connection is over.")
        if kind.startswith("websocket.http.response."):  # a denial: an HTTP answer, not accept
            if state["accepted"]:
                return self._problem(state, f"{kind} was sent after websocket.accept: a denial response "
                                     "replaces the accept, it cannot follow it.")
            if not state["denying"]:
                state["denying"] = True
                self._extension("websocket.http.response", state)  # a problem if not advertised
            self._check_http(message, state, prefix="websocket.http.")
            state["closed"] = state["finished"]
        elif state["denying"]:
            self._problem(state, f"{kind} was sent in the middle of a denial response: finish it with "
                          "websocket.http.response.body (more_body False).")
        elif kind == "websocket.accept":
            if state["accepted"]:
                return self._problem(state, "websocket.accept was sent twice; accept once.")
            state["accepted"] = True
            self._check_headers(message.get("headers", []), state)
        elif kind == "websocket.send":
            if not state["accepted"]:
                return self._problem(state, "websocket.send came before websocket.accept. Accept the "
                                     "connection first (after receiving websocket.connect).")
            text, data = message.get("text"), message.get("bytes")
            if (text is None) == (data is None):
                self._problem(state, "websocket.send needs exactly one of 'text' (str) or 'bytes' "
                              f"(bytes); this one has {'both' if text is not None else 'neither'}.")
            elif text is not None and not isinstance(text, str):
                self._problem(state, f"'text' is a {type(text).__name__}: a text frame holds str; send "
                              "bytes under 'bytes' instead.")
            elif data is not None and not isinstance(data, (bytes, bytearray)):
                self._problem(state, f"'bytes' is a {type(data).__name__}: a binary frame holds bytes; "
                              "send str under 'text' instead.")
        elif kind == "websocket.close":
            state["closed"] = True
            code = message.get("code", 1000)
            if not isinstance(code, int) or isinstance(code, bool):
                self._problem(state, f"the close 'code' is {code!r}: it must be an int, such as 1000 "
                              "(normal) or 1008 (policy violation).")
            reason = message.get("reason")
            if reason is not None and not isinstance(reason, str):
                self._problem(state, f"the close 'reason' is a {type(reason).__name__}: it must be str.")
        else:
            self._problem(state, f"{kind!r} is not a message a websocket app can send: use "
                          "websocket.accept, websocket.send or websocket.close.")

    def _check_finished(self, kind, state):
        connection = state["connection"]
        if connection.problems:
            return  # the first problem explains the rest; one fix at a time
        if kind in ("http", "websocket") and state["disconnected"]:
            return  # the client left first: whatever was unfinished is no longer owed
        if kind == "http" and not state["started"]:
            self._problem(state, "the app returned without sending http.response.start: every request "
                          "needs a response (status and headers, then a body).")
        elif kind == "http" and not state["finished"]:
            self._problem(state, "the app returned before the response was complete: the last "
                          "http.response.body must have more_body False (the default).")
        elif kind == "lifespan" and not connection.messages:
            self._problem(state, "the app returned without answering lifespan.startup: call receive() "
                          "and answer lifespan.startup with 'lifespan.startup.complete'.")
        elif kind == "websocket" and state["denying"] and not state["closed"]:
            self._problem(state, "the app returned in the middle of a denial response: end it with "
                          "websocket.http.response.body (more_body False).")
        elif kind == "websocket" and not (state["accepted"] or state["closed"]):
            self._problem(state, "the app returned without accepting the connection: answer "
                          "websocket.connect with websocket.accept (or websocket.close to refuse).")
        elif kind == "lifespan" and state["waiting_for"]:
            self._problem(state, f"the app returned without answering lifespan.{state['waiting_for']}: "
                          f"send 'lifespan.{state['waiting_for']}.complete' first.")


class Connection:
    """One call of the checked app: what it sent and the rules it broke."""

    def __init__(self, number, scope):
        self.number, self.kind = number, scope.get("type")
        self.method, self.path = scope.get("method", ""), scope.get("path", "")
        self.messages, self.problems = [], []

    @property
    def name(self):
        what = " ".join(part for part in (self.kind, self.method, self.path) if part)
        return f"connection {self.number} ({what})"


def _is_headers_iterator(headers):
    """A generator or other one-pass iterator of headers (checking it would use it up)."""
    return headers is not None and iter(headers) is headers if hasattr(headers, "__iter__") else False
