"""Lab 02's wrong answers (format: tests/wrong_answers/__init__.py). Edits are of the part files."""
from wrong_answers import Answer

SOLUTION = "02-solution-cgi-and-why-the-web-moved-on.ipynb"
SKIPPED = '''if name.lower() in ("content-type", "content-length", "proxy", "authorization") or "_" in name:'''
DIGITS = '''    if not header.strip().isdigit():
        raise ValueError(f"bad Content-Length: {header!r}")'''
LOCATION = '''    if status == 200 and any(name.lower() == "location" for name, _ in headers):
        status, reason = 302, "Found"'''
KILL = "os.killpg(process.pid, signal.SIGKILL)"
SHORT = '''    if len(body) < length:
        raise ValueError("the client left before the whole body arrived")
'''
CONTENT_TYPE = '''    if "Content-Type" in request.headers:  # with or without a body (RFC 3875 4.1.3)
        variables["CONTENT_TYPE"] = request.headers["Content-Type"]
'''
THREE_DIGITS = "if not (len(code) == 3 and code.isdigit() and 100 <= int(code) <= 599):"
OUTCOME = '("ok" if process.returncode == 0 else "failed")'

ANSWERS = [
    Answer("2.1", "the Proxy header passed on",
           edit=[(SKIPPED, SKIPPED.replace(' "proxy",', ""))],
           says=["Many HTTP libraries read HTTP_PROXY"]),
    Answer("2.1", "the port as an int", edit=[('"SERVER_PORT": str(port),', '"SERVER_PORT": port,')],
           says=["TypeError", "read its log"]),
    Answer("2.1", "the query decoded", edit=[('"QUERY_STRING": query,',
                                             '"QUERY_STRING": query.replace("%20", " "),')],
           says=["Pass the query on as it came"]),
    Answer("2.1", "dashes kept in header names",
           edit=[('key = "HTTP_" + name.upper().replace("-", "_")', 'key = "HTTP_" + name.upper()')],
           says=["turn '-' into '_'"]),
    Answer("2.1", "valid: the port formatted with %", edit=[('"SERVER_PORT": str(port),',
                                                            '"SERVER_PORT": "%d" % port,')],
           passes=True),

    Answer("2.2", "no check of the length", edit=[(DIGITS, "")],
           says=["int() also accepts '-5' and '+3'", "Content-Length: -5"]),
    Answer("2.2", "int() trusted, negatives refused",
           edit=[(DIGITS, '    if int(header) < 0:\n        raise ValueError(header)')],
           says=["read_body() raises ValueError for 'Content-Length: +3'", "int() also accepts"]),
    Answer("2.2", "the length as an int",
           edit=[('variables["CONTENT_LENGTH"] = str(length)', 'variables["CONTENT_LENGTH"] = length')],
           says=["TypeError"]),
    Answer("2.2", "CONTENT_TYPE only with a body",
           edit=[(CONTENT_TYPE, ""),
                 ('    variables["CONTENT_LENGTH"] = str(length)\n',
                  '    variables["CONTENT_LENGTH"] = str(length)\n'
                  '    variables["CONTENT_TYPE"] = request.headers.get("Content-Type", "")\n')],
           says=["Set CONTENT_TYPE whenever the request has a Content-Type header"]),
    Answer("2.2", "valid: a regular expression",
           edit=[("def read_body(request):", "import re\n\n\ndef read_body(request):"),
                 ("if not header.strip().isdigit():",
                  'if not re.fullmatch(r"[0-9]+", header.strip()):')],
           passes=True),

    Answer("2.3", "the reason dropped", edit=[('code, _, reason = value.partition(" ")',
                                              'code, _, _ = value.partition(" ")')],
           says=["Take the number and the reason from the Status header"]),
    Answer("2.3", "Location without 302", edit=[(LOCATION, "")],
           says=["answer 302 Found"]),
    Answer("2.3", "Status passed on as a header too",
           edit=[("            headers.append((name, value))",
                  "            pass\n        headers.append((name, value))")],
           says=["no Status header sent on to the client"]),
    Answer("2.3", "output without headers accepted",
           edit=[('            raise ValueError("no empty line after the headers")',
                  "            break"),
                 ('            raise ValueError(f"not a header line: {line!r}")', "            pass")],
           says=["Raise ValueError when there is no empty line"]),
    Answer("2.3", "valid: the CR taken off another way",
           edit=[('line = output[position:end].rstrip(b"\\r").decode("latin-1")',
                  'line = output[position:end].decode("latin-1").removesuffix("\\r")')],
           passes=True),

    Answer("2.4", "a crash taken for success", edit=[(OUTCOME, '"ok"')],
           says=["anything but 0 is 'failed'"]),
    Answer("2.4", "only the script killed, not its group",
           edit=[(KILL, "process.kill()")],
           says=["its helper holds standard output open"]),
    Answer("2.4", "no deadline at all",
           edit=[("output, _ = process.communicate(body, timeout=deadline)",
                  "output, _ = process.communicate(body)")],
           says=["Give communicate() a timeout"]),
    Answer("2.4", "valid: SIGTERM to the group", edit=[(KILL, "os.killpg(process.pid, signal.SIGTERM)")],
           passes=True),

    Answer("2.5", "the Authorization header passed to the script",
           edit=[(SKIPPED, SKIPPED.replace(', "authorization"', ""))],
           says=["credentials are the server's business", "HTTP_AUTHORIZATION was passed on"]),
    Answer("2.5", "a four-digit Status passed through", edit=[(THREE_DIGITS, "if not code.isdigit():")],
           says=["answer 502 when Status is not a code from 100 to 599"]),
    Answer("2.5", "a short body run anyway", edit=[(SHORT, "")],
           says=["raise ValueError when fewer than Content-Length bytes arrive"]),
    Answer("2.5", "no SERVER_SOFTWARE", edit=[('        "SERVER_SOFTWARE": request.server_version,\n', "")],
           says=["Set SERVER_SOFTWARE"]),
    Answer("2.5", "valid: a regular expression for Status, a name of our own, credentials skipped apart",
           edit=[("def parse_output(output):", "import re\n\n\ndef parse_output(output):"),
                 (THREE_DIGITS, 'if not re.fullmatch(r"[1-5][0-9][0-9]", code):'),
                 ('"SERVER_SOFTWARE": request.server_version,', '"SERVER_SOFTWARE": "MyGateway/0.1",'),
                 (SKIPPED, SKIPPED.replace(', "authorization"', "")),
                 ('        key = "HTTP_" + name.upper().replace("-", "_")',
                  '        if name.lower() == "authorization":\n            continue\n'
                  '        key = "HTTP_" + name.upper().replace("-", "_")')],
           passes=True),
]
