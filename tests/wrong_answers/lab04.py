"""Lab 04's wrong answers (format: tests/wrong_answers/__init__.py). Edits are of apps/lab04_app.py."""
from wrong_answers import Answer

SOLUTION = "04-solution-asgi-by-hand.ipynb"
IMPORTS = "import asyncio\nimport json\n"
HOME = 'await send_text(send, 200, "Welcome to lab 04")'
NOT_FOUND = "await send_text(send, 404, f\"Nothing at {scope['path']}\")"
DISPATCH = "await handler(scope, receive, send)"
LAST_CHUNK = '''        if not message.get("more_body", False):
            return body'''
JSON_ANSWER = 'await send_text(send, 200, json.dumps({"sum": total}), "application/json")'
STARTUP = 'await send({"type": "lifespan.startup.complete"})'
STATE = 'scope["state"]["greeting"] = "Hello from startup"'
EVENT = 'f"data: {number}\\n\\n".encode()'
EVENTS_LOOP = '''    for number in (1, 2, 3):
        await send({"type": "http.response.body", "body": f"data: {number}\\n\\n".encode(),
                    "more_body": True})
        await asyncio.sleep(0.05)
    await send({"type": "http.response.body", "body": b""})'''
ACCEPT = 'await send({"type": "websocket.accept"})'
DISPATCH_ROUTE = "handler = ROUTES.get(route_path(scope), not_found)"
BINARY = '''            if message.get("bytes") is not None:  # binary frames stay binary
                await send({"type": "websocket.send", "bytes": message["bytes"]})
            else:
                await send({"type": "websocket.send", "text": message.get("text") or ""})'''
ECHO = 'await send({"type": "websocket.send", "text": message.get("text") or ""})'

ANSWERS = [
    Answer("4.1", "a str body", edit=[(HOME, 'await send({"type": "http.response.start", "status": 200, '
                                             '"headers": []})\n    await send({"type": "http.response.body", '
                                             '"body": "Welcome"})')],
           says=["it must be bytes"]),
    Answer("4.1", "a WSGI-style status", edit=[(NOT_FOUND, 'await send_text(send, "404 Not Found", "no")')],
           says=["it must be an int such as 200 or 404"]),
    Answer("4.1", "the handler not awaited", edit=[(DISPATCH, "handler(scope, receive, send)")],
           says=["returned without sending http.response.start"]),
    Answer("4.1", "time.sleep in async def",
           edit=[(IMPORTS, IMPORTS + "import time\n"), (HOME, "time.sleep(0.1)\n    " + HOME)],
           says=["time.sleep(0.1) ran inside async code", "await asyncio.sleep(0.1)"]),
    Answer("4.1", "a loop without await", edit=[(HOME, "while True:\n        pass")],
           says=["the event loop was blocked"], never=["hint: Use send_text"]),
    Answer("4.1", "valid: the messages written out",
           edit=[(HOME, 'await send({"type": "http.response.start", "status": 200, '
                        '"headers": [(b"content-type", b"text/plain")]})\n    '
                        'await send({"type": "http.response.body", "body": b"Welcome", "more_body": False})')],
           passes=True),

    Answer("4.2", "one message read", edit=[(LAST_CHUNK, "        return body")],
           says=["stop when more_body is False"]),
    Answer("4.2", "receive() called on after the last chunk",
           edit=[(LAST_CHUNK, '        if message["type"] == "http.disconnect":\n            return body')],
           says=["it kept calling receive()"]),
    Answer("4.2", "labelled as text", edit=[(JSON_ANSWER, JSON_ANSWER.replace(', "application/json"', ""))],
           says=["Content-Type application/json", "'text/plain; charset=utf-8'"]),
    Answer("4.2", "a crash on bad JSON", edit=[("except (ValueError, KeyError, TypeError):", "except KeyError:")],
           says=["your code raised JSONDecodeError", "Catch ValueError"]),
    Answer("4.2", "valid: JSON with a charset",
           edit=[(JSON_ANSWER, JSON_ANSWER.replace('"application/json"', '"application/json; charset=utf-8"'))],
           passes=True),

    Answer("4.3", "startup answered, then the app returns", edit=[(STARTUP, STARTUP + "\n            return")],
           says=["Loop on receive()"]),
    Answer("4.3", "the greeting kept in the scope, not its state",
           edit=[(STATE, 'scope["greeting"] = "Hello from startup"')],
           says=["no 'greeting' key in the state"]),
    Answer("4.3", "shutdown answered as startup",
           edit=[('await send({"type": "lifespan.shutdown.complete"})',
                  'await send({"type": "lifespan.startup.complete"})')],
           says=["answer it with 'lifespan.shutdown.complete'"]),
    Answer("4.3", "the greeting written into the handler",
           edit=[('state.get("greeting", "Hello (this server ran no lifespan startup)")',
                  '"Hello from startup"')],
           says=["Read the text from scope['state']"]),
    Answer("4.3", "valid: the state updated in one call",
           edit=[(STATE, 'scope["state"].update(greeting="Hi from a valid variation")')],
           passes=True),

    Answer("4.4", "no empty line after each event", edit=[(EVENT, 'f"data: {number}\\n".encode()')],
           says=["delivers nothing until that empty line comes", "data: 1\\n", "events []"]),
    Answer("4.4", "every event in one message",
           edit=[(EVENTS_LOOP, '    await send({"type": "http.response.body", '
                               '"body": b"data: 1\\n\\ndata: 2\\n\\ndata: 3\\n\\n"})')],
           says=["Send one http.response.body per event"]),
    Answer("4.4", "time.sleep between events",
           edit=[(IMPORTS, IMPORTS + "import time\n"),
                 ("        await asyncio.sleep(0.05)", "        time.sleep(0.05)")],
           says=["time.sleep(0.05) ran inside async code"]),
    Answer("4.4", "labelled as plain text",
           edit=[('(b"content-type", b"text/event-stream")', '(b"content-type", b"text/plain")')],
           says=["Content-Type text/event-stream"]),
    Answer("4.4", "valid: the last event comes with the final message, CRLF line ends",
           edit=[(EVENTS_LOOP,
                  '    for number in (1, 2):\n'
                  '        await send({"type": "http.response.body", "body": f"data: {number}\\r\\n\\r\\n".encode(),\n'
                  '                    "more_body": True})\n'
                  '        await asyncio.sleep(0.05)\n'
                  '    await send({"type": "http.response.body", "body": b"data: 3\\r\\n\\r\\n"})')],
           passes=True),

    Answer("4.5", "a send before the accept",
           edit=[(ACCEPT, 'await send({"type": "websocket.send", "text": "hi"})')],
           says=["websocket.send came before websocket.accept"], never=["did not return within"]),
    Answer("4.5", "bytes sent back instead of text",
           edit=[(ECHO, 'await send({"type": "websocket.send", "bytes": (message.get("text") or "").encode()})')],
           says=["a websocket.send of the same text"]),
    Answer("4.5", "returns after the first echo", edit=[(ECHO, ECHO + "\n            return")],
           says=["['hello', 'again']"]),
    Answer("4.5", "valid: anything else ends the loop",
           edit=[('        elif message["type"] == "websocket.disconnect":\n            return',
                  "        else:\n            return")],
           passes=True),

    Answer("4.6", "routing on scope['path'], the prefix still in it",
           edit=[(DISPATCH_ROUTE, 'handler = ROUTES.get(scope["path"], not_found)')],
           says=["route on route_path(scope), which strips scope['root_path']"]),
    Answer("4.6", "routing on raw_path", edit=[(DISPATCH_ROUTE, 'handler = ROUTES.get(scope["raw_path"].decode(), not_found)')],
           says=["route on route_path(scope)"]),
    Answer("4.6", "binary frames echoed as text",
           edit=[(BINARY, '            await send({"type": "websocket.send", "text": message.get("text") or ""})')],
           says=["answer bytes with"]),
    Answer("4.6", "binary frames decoded into text",
           edit=[(BINARY, '            await send({"type": "websocket.send", '
                          '"text": message.get("text") or message["bytes"].decode("latin-1")})')],
           says=["answer bytes with"]),
    Answer("4.6", "the WebSocket route matched on scope['path']",
           edit=[('elif scope["type"] == "websocket" and route_path(scope) == "/echo":',
                  'elif scope["type"] == "websocket" and scope["path"] == "/echo":')],
           says=["route_path(scope)"], never=["answer bytes with"]),
    Answer("4.6", "valid: the prefix stripped by hand, bytes tested with 'in'",
           edit=[(DISPATCH_ROUTE, 'path = scope["path"].removeprefix(scope.get("root_path", "")) or "/"\n'
                                  '        handler = ROUTES.get(path, not_found)'),
                 ('if message.get("bytes") is not None:', 'if "bytes" in message and message["bytes"] is not None:')],
           passes=True),
]
