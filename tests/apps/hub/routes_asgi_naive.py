"""A raw ASGI app that routes on scope["path"] alone, ignoring root_path (the mistake)."""


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    status = 200 if scope["path"] == "/hello" else 404
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello" if status == 200 else b"not found"})
