"""Answers every request with the proxy prefix it was started with (COURSEKIT_URL_PREFIX)."""
import os
from wsgiref.simple_server import make_server


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.environ.get("COURSEKIT_URL_PREFIX", "(none)").encode()]


make_server(os.environ["HOST"], int(os.environ["PORT"]), app).serve_forever()
