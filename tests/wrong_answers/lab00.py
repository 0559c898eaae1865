"""Lab 00's wrong answers (format: tests/wrong_answers/__init__.py)."""
from wrong_answers import Answer

SOLUTION = "00-solution-welcome.ipynb"
GREETING = 'return f"Hello, {name}!"'
APP_BODY = '''    headers = [("Content-Type", "text/plain; charset=utf-8")]
    if environ["PATH_INFO"] == "/hello":
        start_response("200 OK", headers)
        return [b"Hello, web!"]
    start_response("404 Not Found", headers)
    return [b"Not found"]'''

ANSWERS = [
    Answer("0.1", "the untouched starter", edit=[(GREETING, 'raise NotImplementedError("greeting() is not written yet")')],
           says=["greeting() is not written yet"], never=["✔"]),
    Answer("0.1", "prints instead of returning", edit=[(GREETING, 'print(f"Hello, {name}!")')],
           says=["printing is not returning", "it printed 'Hello, Ada!'"], never=["comma"]),
    Answer("0.1", "no comma", edit=[(GREETING, 'return f"Hello {name}!"')],
           says=["Mind the comma"]),
    Answer("0.1", "Ada written in", edit=[(GREETING, 'return "Hello, Ada!"')],
           says=["Build the text from the `name` argument"]),
    Answer("0.1", "valid: concatenation", edit=[(GREETING, 'return "Hello, " + name + "!"')],
           passes=True),

    Answer("0.2", "the untouched starter",
           edit=[(APP_BODY, '    raise NotImplementedError("app() is not written yet")')],
           says=["app() is not written yet"], never=["✔ GET", "Call start_response"]),
    Answer("0.2", "a str body, not bytes",
           edit=[('return [b"Hello, web!"]', 'return ["Hello, web!"]')],
           says=["write() argument must be a bytes instance", "the body must be bytes"],
           never=["Call start_response"]),
    Answer("0.2", "every path answers 200",
           edit=[('start_response("404 Not Found", headers)', 'start_response("200 OK", headers)')],
           says=["answer '404 Not Found' when it is not /hello"]),
    Answer("0.2", "an HTML content type",
           edit=[('"text/plain; charset=utf-8"', '"text/html"')],
           says=["Send a Content-Type header of text/plain"]),
    Answer("0.2", "a newline after the text",
           edit=[('return [b"Hello, web!"]', 'return [b"Hello, web!\\n"]')],
           says=["no newline or extra text after it"]),
    Answer("0.2", "valid: plain text without a charset, body built from str",
           edit=[('"text/plain; charset=utf-8"', '"Text/Plain"'),
                 ('return [b"Hello, web!"]', 'return ["Hello, web!".encode("utf-8")]')],
           passes=True),
]
