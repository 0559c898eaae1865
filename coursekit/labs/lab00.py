"""Lab 00, warm-up: a function checked in the kernel, then a server checked over HTTP."""
import io
from contextlib import redirect_stdout

from coursekit.checks import CheckFailed, exercise
from coursekit.servers import REQUEST_SECONDS


@exercise("0.1")
def greeting_function(t, greeting):
    t.answered(greeting, "greeting", probe=lambda: greeting("Ada"))
    with t.part("greeting('Ada') returns text", hint="Use `return`; printing is not returning.",
                required=True):
        printed = io.StringIO()
        with redirect_stdout(printed):  # a print() answer is named, not shown as noise
            got = greeting("Ada")
        said = f" (it printed {printed.getvalue().strip()!r})" if printed.getvalue().strip() else ""
        t.expect(isinstance(got, str), "a str", f"{type(got).__name__} {got!r}{said}")
    with t.part("greeting('Ada') is 'Hello, Ada!'", hint="Mind the comma and the exclamation mark."):
        t.equal(greeting("Ada"), "Hello, Ada!")
    with t.part("it works for any name, not only Ada", hint="Build the text from the `name` argument."):
        t.equal(greeting("Grace Hopper"), "Hello, Grace Hopper!")


@exercise("0.2")
def hello_server(t):
    server = t.launch("apps/lab00_hello.py", "wsgiref")
    with t.part("GET /hello answers 200 OK", hint="Call start_response('200 OK', ...) for /hello.",
                required=True):  # what follows would only describe an error page
        t.status(server.get("/hello", timeout=REQUEST_SECONDS), 200, server)
    with t.part("GET /hello is plain text", hint="Send a Content-Type header of text/plain."):
        t.media_type(server.get("/hello", timeout=REQUEST_SECONDS), "text/plain")
    with t.part("GET /hello says 'Hello, web!'", hint="Return a list holding one bytes object."):
        got = server.get("/hello", timeout=REQUEST_SECONDS).content
        if got.startswith(b"Hello, web!") and got != b"Hello, web!":  # a name the cause, not a guess
            raise CheckFailed("'Hello, web!'", repr(got.decode("latin-1")),
                              hint="Send only 'Hello, web!': no newline or extra text after it.")
        t.equal(got.decode("utf-8", "replace"), "Hello, web!")
    with t.part("any other path answers 404 Not Found",
                hint="Read environ['PATH_INFO'] and answer '404 Not Found' when it is not /hello."):
        t.status(server.get("/nothing-here", timeout=REQUEST_SECONDS), 404, server)
