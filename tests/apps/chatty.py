"""Prints megabytes before it serves: the log must not block it or the notebook."""
import os
import sys
from wsgiref.simple_server import make_server

for i in range(40_000):
    sys.stdout.write(f"chatter line {i} " + "x" * 80 + "\n")
print("LAST LINE BEFORE SERVING", flush=True)


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"chatty"]


make_server("127.0.0.1", int(os.environ["PORT"]), app).serve_forever()
