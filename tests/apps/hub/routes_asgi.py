"""A raw ASGI app that routes by path and strips root_path first, as the ASGI spec says."""
import json

ROUTES = {"/": "home", "/hello": "hello"}


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    root, path = scope.get("root_path", ""), scope["path"]
    route = path[len(root):] if root and path.startswith(root) else path
    status = 200 if route in ROUTES else 404
    body = json.dumps({"route": route, "path": path, "root_path": root,
                       "page": ROUTES.get(route)}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
