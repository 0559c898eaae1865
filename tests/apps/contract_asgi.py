"""The bookmarks contract as a plain ASGI app (lesson 04): only the protocol is here.

Serve it with `uvicorn contract_asgi:app`; BOOKMARKS_DB and BOOKMARKS_API_KEY come from the
environment. The SQLite work is blocking, so it runs in a thread (asyncio.to_thread).
"""
import asyncio

from contract_core import MAX_BODY, handle


async def read_body(scope, receive):
    """The whole body, or None once it grows past MAX_BODY (checked as the pieces arrive)."""
    headers = dict(scope["headers"])
    declared = headers.get(b"content-length", b"0")
    if declared.isdigit() and int(declared) > MAX_BODY:
        return None
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > MAX_BODY:
            return None
        if not message.get("more_body", False):
            return body


async def app(scope, receive, send):
    if scope["type"] != "http":
        raise NotImplementedError(f"this app serves http only, not {scope['type']}")
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    body = await read_body(scope, receive)
    root = scope.get("root_path", "")
    path = scope["path"][len(root):] if root and scope["path"].startswith(root) else scope["path"]
    status, response_headers, payload = await asyncio.to_thread(
        handle, scope["method"], path or "/", scope["query_string"].decode("latin-1"), headers, body)
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response_headers]
    await send({"type": "http.response.start", "status": status,
                "headers": [*raw, (b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else payload})
