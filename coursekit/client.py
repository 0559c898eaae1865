"""Show an HTTP exchange the way the lessons print it: status line, chosen headers, body.

Only what is the same on every run is printed (no Date, no Server version), so nbval can
compare a notebook's stored output with a fresh run.
"""
DEFAULT_HEADERS = ("Content-Type", "Content-Length", "Location")


def show(response, *headers, body=True, limit=1500):
    """Print a requests.Response: status line, the named headers (default: a stable few), body."""
    names = headers or DEFAULT_HEADERS
    version = {10: "HTTP/1.0", 11: "HTTP/1.1"}.get(getattr(response.raw, "version", 11), "HTTP/1.1")
    print(f"{version} {response.status_code} {response.reason}")
    for name in names:
        if name in response.headers:
            print(f"{name}: {response.headers[name]}")
    if body and response.content:
        text = response.text
        print()
        print(text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)")


def show_raw(data, limit=1500):
    """Print raw bytes from a socket with each CRLF made visible, as they travel on the wire."""
    text = data.decode("latin-1")
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more bytes)"
    print(text.replace("\r\n", "\\r\\n\n"), end="" if text.endswith("\r\n") else "\n")
