"""Call an app in the kernel, without a server, and get back a response of the same shape as one
from a launched server: status_code, reason, headers, content, text and json().

`call_wsgi(app, "/")` calls a WSGI app through wsgiref.validate, as a strict server would. ASGI apps
are driven by coursekit.asgi_driver, whose ASGIResponse is a Response too.
"""
import io
import json
import warnings
from wsgiref.util import setup_testing_defaults
from wsgiref.validate import WSGIWarning, validator


class Headers:
    """Response headers: look-up ignores case; `getlist` keeps repeated ones (Set-Cookie)."""

    def __init__(self, pairs):
        self.pairs = [(str(name), str(value)) for name, value in pairs]

    def get(self, name, default=None):
        return next((v for n, v in self.pairs if n.lower() == name.lower()), default)

    def getlist(self, name):
        return [v for n, v in self.pairs if n.lower() == name.lower()]

    def __getitem__(self, name):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name):
        return self.get(name) is not None

    def __eq__(self, other):  # equal to a dict of the same headers, whatever their case
        if isinstance(other, dict):
            return {n.lower(): v for n, v in self.pairs} == {n.lower(): v for n, v in other.items()}
        return isinstance(other, Headers) and self.pairs == other.pairs

    def __repr__(self):
        return repr(dict(self.pairs))


class Response:
    """What an app answered: the same attributes a check reads from a requests.Response."""

    def __init__(self, status_code, reason, headers, content):
        self.status_code, self.reason, self.content = status_code, reason, content
        self.headers = Headers(headers)

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)

    def __repr__(self):
        return f"<Response [{self.status_code}]>"


# ----- WSGI ------------------------------------------------------------------------------

class WSGIRuleBroken(AssertionError):
    """The app broke a rule of PEP 3333; the message is wsgiref.validate's own."""


def call_wsgi(app, path="/", method="GET", headers=None, body=b"", query="", protocol="HTTP/1.0"):
    """Call a WSGI app through wsgiref.validate as a server would; returns a Response with `errors`
    (what the app wrote to wsgi.errors). A broken rule raises WSGIRuleBroken. `protocol` is the
    request's SERVER_PROTOCOL (wsgiref's own default, HTTP/1.0, unless given)."""
    environ = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "QUERY_STRING": query, "SERVER_PROTOCOL": protocol,
               "PATH_INFO": path, "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO()}
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = value
    setup_testing_defaults(environ)
    errors, started, chunks = environ["wsgi.errors"], {}, []

    def start_response(status, response_headers, exc_info=None):
        if started and not exc_info:
            raise AssertionError("start_response called a second time without exc_info")
        if exc_info and chunks:
            raise exc_info[1].with_traceback(exc_info[2])
        started.update(status=status, headers=response_headers)
        return chunks.append

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = validator(app)(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                result.close()
        except AssertionError as error:
            raise WSGIRuleBroken(str(error)) from None
    for warning in caught:  # wsgiref.validate warns for some broken rules; the app's own warnings
        if issubclass(warning.category, WSGIWarning):  # (a deprecation, say) are not one of them
            raise WSGIRuleBroken(str(warning.message))
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    code, _, reason = started["status"].partition(" ")
    response = Response(int(code), reason, started["headers"], b"".join(chunks))
    response.errors = errors.getvalue()
    return response
