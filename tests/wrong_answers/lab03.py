"""Lab 03's wrong answers (format: tests/wrong_answers/__init__.py)."""
from wrong_answers import Answer

SOLUTION = "03-solution-wsgi-by-hand.ipynb"
ESCAPE = "regex += re.escape(pattern[position:match.start()])"
FULLMATCH = "match = regex.fullmatch(path)"
ALLOWED = "        if allowed:\n"
MESSAGE = 'return [b"Internal Server Error\\n"]'
EXC_INFO = '''[("Content-Type", "text/plain; charset=utf-8")], sys.exc_info())'''
PRINT_EXC = 'traceback.print_exc(file=environ["wsgi.errors"])'
PASS_BODY = "return app(environ, start_response_timed)"
BLANK = 'conn.sendall((head + "Connection: close\\r\\n\\r\\n").encode("latin-1"))'
STATUS_LINE = '''head = f"HTTP/1.1 {response['status']}\\r\\n"'''
HEADER_LINES = '''head += "".join(f"{n}: {v}\\r\\n" for n, v in response["headers"])'''
HEAD_BODY = 'response["body"] = method != "HEAD" and code not in (204, 304) and code >= 200'
DATE = '''            head += f"Date: {formatdate(usegmt=True)}\\r\\n"
'''
HOST = 'if names.count("host") > 1 or (protocol == "HTTP/1.1" and "host" not in names):'
LENGTHS = "if len(lengths) > 1 or (lengths and not (lengths[0].isascii() and lengths[0].isdigit())):"
SHORT = '''        if len(body) < length:
            raise Refused(400, "Bad Request")
'''
ROUTED_AS = 'routed_as = "GET" if method == "HEAD" else method'
HEAD_EMPTY = 'return [] if method == "HEAD" else [body]'
LATE_500 = '''        if not response.get("sent"):  # nothing went out yet: there is still time for a 500
            refuse(500, "Internal Server Error")
'''
CUT = '''            data = data[:response["left"]]
'''
CLOSE = '''        if hasattr(result, "close"):
            result.close()'''

ANSWERS = [
    Answer("3.1", "literal text not escaped", edit=[(ESCAPE, "regex += pattern[position:match.start()]")],
           says=["escape it"]),
    Answer("3.1", "match instead of fullmatch", edit=[(FULLMATCH, "match = regex.match(path)")],
           says=["The whole path must match"]),
    Answer("3.1", "int parameters left as text",
           edit=[('"int": (r"\\d+", int)', '"int": (r"\\d+", str)')],
           says=["the handler gets it as an int"]),
    Answer("3.1", "no 405", edit=[(ALLOWED, "        if False:\n")],
           says=["answer '405 Method Not Allowed'"]),
    Answer("3.1", "a str body", edit=[('body = text.encode("utf-8")', "body = text")],
           says=["every piece of the body must be bytes"], never=["call start_response", "hint: Find the route"]),
    Answer("3.1", "HEAD refused with 405", edit=[(ROUTED_AS, 'routed_as = method')],
           says=["Route a HEAD request as if it were GET"]),
    Answer("3.1", "HEAD answered with the body", edit=[(HEAD_EMPTY, "return [body]")],
           says=["but an empty body"]),
    Answer("3.1", "valid: an anchored regex instead of fullmatch",
           edit=[(FULLMATCH, r'match = re.match(regex.pattern + r"\Z", path)')],
           passes=True),

    Answer("3.2", "the exception's message in the body",
           edit=[(MESSAGE, "return [str(sys.exc_info()[1]).encode()]")],
           says=["a body without the exception's message"]),
    Answer("3.2", "start_response called again without exc_info",
           edit=[(EXC_INFO, '[("Content-Type", "text/plain; charset=utf-8")])')],
           says=["exc_info"]),
    Answer("3.2", "the body turned into a list", edit=[(PASS_BODY, f"return list({PASS_BODY[7:]})")],
           says=["don't turn it into a new list"]),
    Answer("3.2", "the traceback printed to standard error",
           edit=[(PRINT_EXC, "traceback.print_exc()")],
           says=["Write the traceback to environ['wsgi.errors']"]),
    Answer("3.2", "valid: more digits in the time", edit=[('f"{elapsed:.1f} ms"', 'f"{elapsed:.3f} ms"')],
           passes=True),

    Answer("3.3", "no empty line after the headers",
           edit=[(BLANK, BLANK.replace("close\\r\\n\\r\\n", "close\\r\\n"))],
           says=["is the empty line after the headers missing?", "first bytes received"],
           never=["closed the connection without a complete answer"]),
    Answer("3.3", "lines ended with \\n alone",
           edit=[(STATUS_LINE, STATUS_LINE.replace("\\r\\n", "\\n"))],
           says=["ends in \\n alone"]),
    Answer("3.3", "the path not percent-decoded",
           edit=[('"PATH_INFO": unquote(path, "latin-1")', '"PATH_INFO": path')],
           says=["Percent-decode the path"]),
    Answer("3.3", "close() never called", edit=[(CLOSE, "        pass")],
           says=["call close() on the app's result"]),
    Answer("3.3", "the query string left in the path",
           edit=[('path, _, query = target.partition("?")', 'path, query = target, ""')],
           says=["Split the request target at the first '?'"]),
    Answer("3.3", "valid: headers joined with %-formatting",
           edit=[(HEADER_LINES, 'head += "".join("%s: %s\\r\\n" % pair for pair in response["headers"])')],
           passes=True),

    Answer("3.4", "HEAD answered with the body", edit=[(HEAD_BODY, HEAD_BODY.replace('method != "HEAD" and ', ""))],
           says=["send the status line and headers, but none of the body"]),
    Answer("3.4", "no Date header", edit=[(DATE, "")],
           says=["Add 'Date: ' + email.utils.formatdate(usegmt=True)"]),
    Answer("3.4", "Host not required", edit=[(HOST, 'if names.count("host") > 1:')],
           says=["HTTP/1.1 requires exactly one Host header"]),
    Answer("3.4", "Host required of HTTP/1.0 clients too",
           edit=[(HOST, 'if names.count("host") != 1:')],
           says=["Answer HTTP/1.0 clients too (they send no Host)"]),
    Answer("3.4", "Content-Length trusted to int()", edit=[(LENGTHS, "if len(lengths) > 1:")],
           says=["Accept a Content-Length only if it is all digits"]),
    Answer("3.4", "a short body passed to the app", edit=[(SHORT, "")],
           says=["instead of calling the app with a short body"]),
    Answer("3.4", "an error in the body closes the connection without a 500", edit=[(LATE_500, "")],
           says=["answer 500 Internal Server Error"]),
    Answer("3.4", "the whole body sent past Content-Length", edit=[(CUT, "")],
           says=["cut what goes beyond it"]),
    Answer("3.4", "valid: the Date from wsgiref",
           edit=[("from email.utils import formatdate\n",
                  "from email.utils import formatdate\nfrom time import time\n"
                  "from wsgiref.handlers import format_date_time\n"),
                 (DATE, '            head += "Date: " + format_date_time(time()) + "\\r\\n"\n')],
           passes=True),
]
