"""Lab 00, warm-up: a function checked in the kernel, then a server checked over HTTP."""
from coursekit.checks import exercise


@exercise("0.1")
def greeting_function(t, greeting):
    t.answered(greeting, "greeting")
    with t.part("greeting('Ada') returns text", hint="Use `return`; printing is not returning."):
        got = greeting("Ada")
        t.expect(isinstance(got, str), "a str", f"{type(got).__name__} {got!r}")
    with t.part("greeting('Ada') is 'Hello, Ada!'", hint="Mind the comma and the exclamation mark."):
        t.equal(greeting("Ada"), "Hello, Ada!")
    with t.part("it works for any name, not only Ada", hint="Build the text from the `name` argument."):
        t.equal(greeting("Grace Hopper"), "Hello, Grace Hopper!")


@exercise("0.2")
def hello_server(t):
    server = t.launch("apps/lab00_hello.py", "wsgiref")
    with t.part("GET /hello answers 200 OK", hint="Call start_response('200 OK', ...) for /hello."):
        t.equal(server.get("/hello").status_code, 200)
    with t.part("GET /hello is plain text", hint="Send a Content-Type header of text/plain."):
        got = server.get("/hello").headers.get("Content-Type", "(no Content-Type header)")
        t.expect(got.startswith("text/plain"), "text/plain", got)
    with t.part("GET /hello says 'Hello, web!'", hint="Return a list holding one bytes object."):
        t.equal(server.get("/hello").text, "Hello, web!")
    with t.part("any other path answers 404 Not Found",
                hint="Read environ['PATH_INFO'] and answer '404 Not Found' when it is not /hello."):
        t.equal(server.get("/nothing-here").status_code, 404)
