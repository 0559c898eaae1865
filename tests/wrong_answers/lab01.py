"""Lab 01's wrong answers (format: tests/wrong_answers/__init__.py). Edits are of the server file."""
from wrong_answers import Answer

SOLUTION = "01-solution-http-from-the-socket-up.ipynb"
ROOT = '''    if method == "GET" and path == "/":
        return "200 OK", TEXT, b"Hello from lab 01\\n"'''
NOT_FOUND = '''    return "404 Not Found", TEXT, b"Not found\\n"'''
LENGTH = 'head.append(f"Content-Length: {len(body)}")'
ECHO = 'return "200 OK", TEXT, unquote(path.removeprefix("/echo/")).encode("utf-8")'
AGENT = 'headers.get("user-agent", "").encode("latin-1")'
BODY = '''    length = int(headers.get("content-length", "0"))
    body = rfile.read(length)
    if len(body) < length:
        raise BadRequest("the client left before the whole body arrived")'''
LENGTH_READ = 'length = int(headers.get("content-length", "0"))'
ECHO_TYPE = 'headers.get("content-type", "application/octet-stream"), body'
THREAD = '''            threading.Thread(target=serve_connection, args=(conn,), daemon=True).start()
            continue'''
KEEP = 'keep_open = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"'
VALIDATE = '''    if (len(parts) != 3 or not parts[0].isalpha() or not parts[1].startswith("/")
            or parts[2] not in ("HTTP/1.0", "HTTP/1.1")):
        raise BadRequest(line)'''
HOST = '''    if version == "HTTP/1.1" and "host" not in headers:
        raise BadRequest("no Host header")
'''
SECOND = '''        if name.lower() in headers and name.lower() in ("host", "content-length"):
            raise BadRequest(f"a second {name} header")
'''
BARE_CR = '''        if b"\\r" in line.rstrip(b"\\r\\n"):  # RFC 9112 2.2: a CR alone never passes on
            raise BadRequest("a bare CR inside a header line")
'''
DIGITS = '''    if not (length.isascii() and length.isdigit()):
        raise BadRequest(f"Content-Length {length!r} is not a number")
'''
CONTINUE = '''    if version == "HTTP/1.1" and headers.get("expect", "").lower() == "100-continue":
        conn.sendall(b"HTTP/1.1 100 Continue\\r\\n\\r\\n")
'''
HEAD_ONLY = '''    if head_only:
        body = b""
'''
LINE_ENDS = 'conn.sendall(("\\r\\n".join(head) + "\\r\\n\\r\\n").encode("latin-1") + body)'

ANSWERS = [
    Answer("1.1", "the branch for / left out", edit=[(ROOT, "")],
           says=['answer GET / with \\"200 OK\\"'.replace("\\", "")], never=["✔ the answer"]),
    Answer("1.1", "an empty body", edit=[('b"Hello from lab 01\\n"', 'b""')],
           says=["Return a few bytes of text as the body"]),
    Answer("1.1", "the method compared in lower case", edit=[('method == "GET" and path == "/"',
                                                             'method == "get" and path == "/"')],
           says=['In route(), answer GET /']),
    Answer("1.1", "no empty line after the headers (send_response changed)",
           edit=[(LINE_ENDS, 'conn.sendall(("\\r\\n".join(head) + "\\r\\n").encode("latin-1") + body)')],
           says=["is the empty line after the headers missing?", "first bytes received"],
           never=["closed the connection without a complete answer"]),
    Answer("1.1", "valid: an HTML page", edit=[('return "200 OK", TEXT, b"Hello from lab 01\\n"',
                                              'return "200 OK", "text/html", b"<h1>Hello</h1>"')],
           passes=True),

    Answer("1.2", "no answer for other paths", edit=[(NOT_FOUND, "")],
           says=['answer "404 Not Found" for everything else']),
    Answer("1.2", "200 for every other path",
           edit=[(NOT_FOUND, '    return "200 OK", TEXT, b"Not found\\n"')],
           says=['answer "404 Not Found" for everything else']),
    Answer("1.2", "the status alone, not a triple",
           edit=[(NOT_FOUND, '    return "404 Not Found"')],
           says=['answer "404 Not Found" for everything else', "nothing at all"]),
    Answer("1.2", "valid: an HTML 404 page",
           edit=[(NOT_FOUND, '    return "404 Not Found", "text/html", b"<p>No such page</p>"')],
           passes=True),

    Answer("1.3", "Content-Length counts characters",
           edit=[(LENGTH, 'head.append(f"Content-Length: {len(body.decode())}")')],
           says=["Content-Length: 13 (bytes)", "count bytes, not characters"]),
    Answer("1.3", "Content-Length one too small",
           edit=[(LENGTH, 'head.append(f"Content-Length: {len(body) - 1}")')],
           says=["expected: Content-Length: 5", "got:      Content-Length: 4"]),
    Answer("1.3", "no Content-Length at all", edit=[(LENGTH, "pass")],
           says=["no Content-Length header", "add a Content-Length header"]),
    Answer("1.3", "not percent-decoded",
           edit=[(ECHO, 'return "200 OK", TEXT, path.removeprefix("/echo/").encode("utf-8")')],
           says=["Percent-decode the text"]),
    Answer("1.3", "valid: %-formatting and slicing",
           edit=[(LENGTH, 'head.append("Content-Length: %d" % len(body))'),
                 (ECHO, 'return "200 OK", "text/plain", unquote(path[len("/echo/"):]).encode()')],
           passes=True),

    Answer("1.4", "the header looked up with its capital letters",
           edit=[(AGENT, 'headers.get("User-Agent", "").encode("latin-1")')],
           says=["stored with lower-case names"]),
    Answer("1.4", "every header sent back",
           edit=[(AGENT, 'str(headers).encode("latin-1")')],
           says=["Answer with the value of the request's User-Agent header"]),
    Answer("1.4", "a trailing slash in the path",
           edit=[('path == "/user-agent"', 'path == "/user-agent/"')],
           says=["Answer with the value of the request's User-Agent header"]),
    Answer("1.4", "valid: indexing the dict", edit=[(AGENT, 'headers["user-agent"].encode()')],
           passes=True),

    Answer("1.5", "the body never read", edit=[(BODY, "    pass")],
           says=["Read exactly Content-Length bytes of body"]),
    Answer("1.5", "the body read up to a newline",
           edit=[(BODY, "    body = rfile.readline()")],
           says=["Read exactly Content-Length bytes of body"]),
    Answer("1.5", "always octet-stream",
           edit=[(ECHO_TYPE, '"application/octet-stream", body')],
           says=["Answer with the request's Content-Type header"]),
    Answer("1.5", "valid: a length only when the header is there",
           edit=[(LENGTH_READ, 'length = int(headers["content-length"]) '
                               'if "content-length" in headers else 0')],
           passes=True),

    Answer("1.6", "no thread", edit=[(THREAD, "            pass")],
           says=["Serve each connection in a thread of its own"]),
    Answer("1.6", "the function called instead of passed",
           edit=[(THREAD, "            threading.Thread(target=serve_connection(conn)).start()\n"
                          "            continue")],
           says=["Serve each connection in a thread of its own"]),
    Answer("1.6", "each thread joined at once",
           edit=[(THREAD, "            worker = threading.Thread(target=serve_connection, args=(conn,))\n"
                          "            worker.start()\n            worker.join()\n            continue")],
           says=["Serve each connection in a thread of its own"]),
    Answer("1.6", "valid: keyword arguments, not a daemon",
           edit=[(THREAD, "            threading.Thread(target=serve_connection, kwargs={'conn': conn}).start()\n"
                          "            continue")],
           passes=True),

    Answer("1.7", "never kept open", edit=[(KEEP, "keep_open = False")],
           says=["Keep the connection open after an HTTP/1.1 answer"]),
    Answer("1.7", "Connection: close ignored", edit=[(KEEP, "keep_open = True")],
           says=["When the client sends Connection: close"]),
    Answer("1.7", "HTTP/1.0 kept open: only the Connection header is read",
           edit=[(KEEP, 'keep_open = headers.get("connection", "").lower() != "close"')],
           says=["check the request's version"]),
    Answer("1.7", "the body left on the connection", edit=[(BODY, "    pass")],
           says=["the bytes after them are the next request"]),
    Answer("1.7", "valid: the rule written the other way round",
           edit=[(KEEP, 'keep_open = not (version == "HTTP/1.0" or '
                        '"close" in headers.get("connection", "").lower())')],
           passes=True),

    Answer("1.8", "no check", edit=[(VALIDATE, "")],
           says=["raise BadRequest unless the line has three parts"]),
    Answer("1.8", "the number of parts checked, nothing else",
           edit=[(VALIDATE, '    if len(line.split(" ")) != 3:\n        raise BadRequest(line)')],
           says=["raise BadRequest unless the line has three parts", "FTP/1.0"]),
    Answer("1.8", "ValueError instead of BadRequest",
           edit=[(VALIDATE, VALIDATE.replace("raise BadRequest(line)", "raise ValueError(line)"))],
           says=["no answer at all"]),
    Answer("1.8", "valid: a regular expression",
           edit=[("import socket\n", "import re\nimport socket\n"),
                 (VALIDATE, '    if not re.fullmatch(r"[A-Za-z]+ /\\S* HTTP/1\\.[01]", " ".join(parts)):\n'
                            '        raise BadRequest(line)')],
           passes=True),

    Answer("1.9", "Host not required", edit=[(HOST, "")],
           says=["an HTTP/1.1 request without Host is a BadRequest"]),
    Answer("1.9", "a second Host header accepted (the last one wins)", edit=[(SECOND, "")],
           says=["A second Host header is a BadRequest"]),
    Answer("1.9", "Content-Length trusted to int()", edit=[(DIGITS, "")],
           says=["A Content-Length that is not a plain number is a BadRequest"]),
    Answer("1.9", "HEAD sends the body", edit=[(HEAD_ONLY, "")],
           says=["send no body when the request was HEAD", "the GET's status line right after HEAD's head"]),
    Answer("1.9", "no 100 Continue", edit=[(CONTINUE, "")],
           says=["HTTP/1.1 100 Continue", "before reading the body"]),
    Answer("1.9", "chunked bodies answered 400, not 411",
           edit=[('BadRequest("chunked bodies are not read here", "411 Length Required")',
                  'BadRequest("chunked bodies are not read here")')],
           says=["411 Length Required"]),
    Answer("1.9", "every Transfer-Encoding answered 411 (the lesson's server before RFC 9112 6.3)",
           edit=[('        if codings[-1] != "chunked":\n', '        if False:\n'),
                 ('        if len(codings) > 1:\n', '        if False:\n')],
           says=["Transfer-Encoding: gzip (chunked not last) gets 400", "nothing says where the body ends",
                 "Transfer-Encoding: gzip, chunked gets 501"]),
    Answer("1.9", "chunked refused with 501, as if chunked were an unknown coding",
           edit=[('BadRequest("chunked bodies are not read here", "411 Length Required")',
                  'BadRequest("chunked bodies are not read here", "501 Not Implemented")')],
           says=["411 Length Required"]),
    Answer("1.9", "100 Continue sent to an HTTP/1.0 client",
           edit=[(CONTINUE, CONTINUE.replace('version == "HTTP/1.1" and ', ""))],
           says=["an HTTP/1.0 client cannot read it", "nothing until the body is sent"]),
    Answer("1.9", "a bare CR let through", edit=[(BARE_CR, "")],
           says=["a CR that is not followed by LF is invalid"]),
    Answer("1.9", "valid: the rules written another way",
           edit=[(HOST, '    if "host" not in headers and version != "HTTP/1.0":\n'
                        '        raise BadRequest("Host is required in HTTP/1.1")\n'),
                 (CONTINUE, '    if version != "HTTP/1.0" and "100-continue" in headers.get("expect", ""):\n'
                            '        conn.sendall("HTTP/1.1 100 Continue\\r\\n\\r\\n".encode())\n'),
                 (HEAD_ONLY, "    body = b\"\" if head_only else body\n")],
           passes=True),
]
