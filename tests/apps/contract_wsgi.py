"""The bookmarks contract as a plain WSGI app (PEP 3333, lesson 03): only the protocol is here.

Serve it with `gunicorn contract_wsgi:app` or wsgiref; BOOKMARKS_DB and BOOKMARKS_API_KEY
come from the environment.
"""
from contract_core import MAX_BODY, handle, reason


def read_body(environ):
    """The request body, or None when it is larger than MAX_BODY (read no further than that)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        return None
    return environ["wsgi.input"].read(length) if length else b""


def app(environ, start_response):
    headers = {key[5:].replace("_", "-").lower(): value
               for key, value in environ.items() if key.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    # PEP 3333: PATH_INFO is bytes decoded as latin-1; re-decode it as the UTF-8 it was sent in.
    path = environ.get("PATH_INFO", "/").encode("latin-1").decode("utf-8", "replace") or "/"
    status, response_headers, body = handle(environ["REQUEST_METHOD"], path,
                                            environ.get("QUERY_STRING", ""), headers, read_body(environ))
    start_response(reason(status), [*response_headers, ("Content-Length", str(len(body)))])
    return [b"" if environ["REQUEST_METHOD"] == "HEAD" else body]
