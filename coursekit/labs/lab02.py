"""Lab 02, a CGI gateway: checked over real HTTP, one stage per exercise, with deadlines throughout."""
import json
import socket
import time
from pathlib import Path

from coursekit.checks import CheckFailed, StopExercise, exercise

GATEWAY = "apps/lab02_gateway.py"
SCRIPT_DEADLINE = 3  # seconds each script may run in the checks (the gateway's CGI_DEADLINE)
WAIT = 10  # seconds the checks wait for any answer


def start(t):
    return t.launch(GATEWAY, "script", env={"CGI_DEADLINE": str(SCRIPT_DEADLINE)})


def fetch(server, method, path, **kwargs):
    """Send one request, waiting at most WAIT seconds (a failed one is explained by the check)."""
    return server.request(method, path, timeout=WAIT, **kwargs)


def summary(response):
    text = response.text.strip()
    return f"{response.status_code} {response.reason}" + (f" ({text[:80]})" if text else "")


def script_env(t, server, method, path, **kwargs):
    """The environment the env script saw, as a dict; stops the exercise if there is none."""
    found = {}
    with t.part(f"{method} {path} runs the env script and answers 200",
                hint="A 501 means meta_variables() returned nothing yet; for anything else, launch "
                     "the gateway yourself and read its log, where the script's error is."):
        response = fetch(server, method, path, **kwargs)
        t.expect(response.status_code == 200, "200 OK and the script's JSON", summary(response))
        try:
            found.update(json.loads(response.text))
        except ValueError:
            raise CheckFailed("the script's JSON", summary(response)) from None
    if not found:
        raise StopExercise()
    return found


def status_line(port, request_bytes, seconds=WAIT):
    """Send raw bytes, say that no more come, and return the status line that comes back (for
    requests `requests` won't send)."""
    with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
        sock.sendall(request_bytes)
        sock.shutdown(socket.SHUT_WR)  # a gateway that reads "until the end" then gets an end
        data = b""
        while b"\r\n" not in data:
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                raise CheckFailed(f"an answer within {seconds} s", "no answer") from None
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n")[0].decode("latin-1") or "(the connection closed without an answer)"


@exercise("2.1")
def get_with_query_string(t):
    server = start(t)
    with t.part("GET /cgi-bin/hello?name=Ada answers 'Hello, Ada!'",
                hint="The script reads QUERY_STRING; meta_variables() must return a dict with it."):
        response = fetch(server, "GET", "/cgi-bin/hello?name=Ada")
        t.expect(response.status_code == 200 and response.text == "Hello, Ada!\n",
                 "200 OK: Hello, Ada!", summary(response))
    env = script_env(t, server, "GET", "/cgi-bin/env/a/b%20c?lang=py%20thon&x=1",
                     headers={"X-Lab-Token": "abc123", "Proxy": "http://attacker.invalid"})
    with t.part("REQUEST_METHOD and GATEWAY_INTERFACE",
                hint="request.command is the method; the interface is the string 'CGI/1.1'."):
        t.equal((env.get("REQUEST_METHOD"), env.get("GATEWAY_INTERFACE")), ("GET", "CGI/1.1"))
    with t.part("QUERY_STRING is what follows '?', still percent-encoded",
                hint="Pass the query on as it came; the script decodes it."):
        t.equal(env.get("QUERY_STRING"), "lang=py%20thon&x=1")
    with t.part("SCRIPT_NAME names the script and PATH_INFO holds the rest of the path",
                hint="The gateway hands you both as arguments."):
        t.equal((env.get("SCRIPT_NAME"), env.get("PATH_INFO")), ("/cgi-bin/env", "/a/b c"))
    with t.part("SERVER_PROTOCOL, SERVER_NAME, SERVER_PORT and REMOTE_ADDR",
                hint="The request object knows its protocol version, the server's address and "
                     "the client's address (see http.server's documentation); every value is a str."):
        got = tuple(env.get(name) for name in
                    ("SERVER_PROTOCOL", "SERVER_NAME", "SERVER_PORT", "REMOTE_ADDR"))
        t.equal(got, ("HTTP/1.1", "127.0.0.1", str(server.port), "127.0.0.1"))
    with t.part("request headers arrive as HTTP_* variables",
                hint="Upper-case the header's name, turn '-' into '_' and put 'HTTP_' in front."):
        got = (env.get("HTTP_X_LAB_TOKEN"), env.get("HTTP_USER_AGENT", "")[:15])
        t.equal(got, ("abc123", "python-requests"))
    with t.part("a 'Proxy' request header never becomes HTTP_PROXY",
                hint="Many HTTP libraries read HTTP_PROXY as their proxy setting: skip that header."):
        t.expect("HTTP_PROXY" not in env, "no HTTP_PROXY", f"HTTP_PROXY={env.get('HTTP_PROXY')!r}")


@exercise("2.2")
def post_with_body(t):
    server = start(t)
    env = script_env(t, server, "POST", "/cgi-bin/env", data={"name": "Ada", "lang": "Python"})
    with t.part("CONTENT_LENGTH and CONTENT_TYPE describe a form's body",
                hint="Return them in the dict, as str, taken from the request's headers."):
        got = (env.get("CONTENT_LENGTH"), env.get("CONTENT_TYPE"))
        t.equal(got, ("20", "application/x-www-form-urlencoded"))
    with t.part("the script reads the body from standard input, byte for byte",
                hint="Read exactly Content-Length bytes from request.rfile and return them."):
        body = bytes(range(256)) * 400
        response = fetch(server, "POST", "/cgi-bin/echo", data=body,
                         headers={"Content-Type": "application/octet-stream"})
        t.expect(response.status_code == 200 and response.content == body,
                 f"200 OK and the same {len(body)} bytes back",
                 f"{response.status_code} {response.reason} and {len(response.content)} bytes")
    with t.part("a Content-Type without a body still becomes CONTENT_TYPE (RFC 3875 4.1.3)",
                hint="Set CONTENT_TYPE whenever the request has a Content-Type header, body or not "
                     "(the server MUST): look at it before you look at Content-Length."):
        env = json.loads(fetch(server, "GET", "/cgi-bin/env", headers={"Content-Type": "text/csv"}).text
                         or "{}")
        t.equal(env.get("CONTENT_TYPE", "(not set)"), "text/csv")
    with t.part("a GET without a body has no CONTENT_LENGTH",
                hint="No Content-Length header means no body, and no CONTENT_LENGTH either."):
        env = json.loads(fetch(server, "GET", "/cgi-bin/env").text or "{}")
        t.expect(env.get("CONTENT_LENGTH", "") in ("", "0"), "no CONTENT_LENGTH",
                 f"CONTENT_LENGTH={env.get('CONTENT_LENGTH')!r}")
    # int() accepts "-5" and "+3", so only a check of the digits themselves refuses them. The
    # gateway now refuses such a request itself before read_body() sees it (RFC 9112), so a test
    # over the wire could not fail: read_body() is called here directly, as the exercise states it.
    for bad in ("lots", "-5", "+3"):
        with t.part(f"read_body() raises ValueError for 'Content-Length: {bad}'",
                    hint="A length is digits only: int() also accepts '-5' and '+3', so check the "
                         "text before converting it, and raise ValueError otherwise (a negative "
                         "length reads until the client gives up)."):
            outcome = read_body_outcome(bad)
            t.expect(outcome == "ValueError", "ValueError", outcome)


def read_body_outcome(length):
    """Call the student's read_body() on a request whose Content-Length is `length` (with a 3-byte
    body); return what happened, in words ("ValueError" if it raised that)."""
    import http.client
    import importlib.util
    import io
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("lab02_body_checked", "apps/lab02_body.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError:
        return "no apps/lab02_body.py (run its %%writefile cell)"
    except Exception as error:  # the file itself does not run
        return f"apps/lab02_body.py does not import: {type(error).__name__}: {error}"
    headers = http.client.parse_headers(io.BytesIO(f"Content-Length: {length}\r\n\r\n".encode()))
    request = SimpleNamespace(headers=headers, rfile=io.BytesIO(b"abc"), command="POST")
    try:
        returned = module.read_body(request)
    except ValueError:
        return "ValueError"
    except NotImplementedError:
        return "NotImplementedError: read_body() is not written yet"
    except Exception as error:  # the student's code: show what it raised
        return f"{type(error).__name__}: {error}"
    return f"no exception; it returned {returned!r:.80}"


@exercise("2.3")
def status_and_headers(t):
    server = start(t)
    with t.part("'Status: 404 Not Found' becomes the status line",
                hint="Take the number and the reason from the Status header; the script here ends "
                     "its lines with \\r\\n."):
        response = fetch(server, "GET", "/cgi-bin/missing")
        t.equal((response.status_code, response.reason), (404, "Not Found"))
    with t.part("the script's other headers reach the client",
                hint="Keep every header except Status, in order."):
        response = fetch(server, "GET", "/cgi-bin/missing")
        got = (response.headers.get("Content-Type"), response.headers.get("X-Lab-Script"))
        t.equal(got, ("text/plain", "missing"))
        t.expect("Status" not in response.headers, "no Status header sent on to the client",
                 f"Status: {response.headers.get('Status')}")
    with t.part("two Set-Cookie lines stay two cookies",
                hint="Headers are a list of pairs, not a dict: a name may come twice."):
        response = fetch(server, "GET", "/cgi-bin/missing")
        t.equal(response.raw.headers.getlist("Set-Cookie"), ["seen=yes", "lang=en"])
    with t.part("the body is everything after the empty line",
                hint="Keep the bytes after the first empty line exactly as they are."):
        t.equal(fetch(server, "GET", "/cgi-bin/missing").text, "Nothing here.\n")
    with t.part("a Location without a Status becomes 302 Found",
                hint="When the script sends Location and no Status, answer 302 Found."):
        response = fetch(server, "GET", "/cgi-bin/moved", allow_redirects=False)
        got = (response.status_code, response.headers.get("Location", "(none)"))
        t.expect(got[0] == 302 and got[1].endswith("/cgi-bin/hello"),
                 "302 with Location: .../cgi-bin/hello", f"{got[0]} with Location: {got[1]}")
    with t.part("output that is not headers, an empty line and a body is a 500",
                hint="Raise ValueError when there is no empty line or a header line has no ':'."):
        response = fetch(server, "GET", "/cgi-bin/broken")
        t.equal(response.status_code, 500)


@exercise("2.4")
def crash_and_hang(t):
    server = start(t)
    with t.part("a script that works still answers 200", required=True,
                hint="A script that exits with code 0 worked: its outcome is 'ok', with its output."):
        response = fetch(server, "GET", "/cgi-bin/hello?name=Ada")
        t.expect(response.status_code == 200 and response.text == "Hello, Ada!\n",
                 "200 OK: Hello, Ada!", summary(response))
    with t.part("a script that crashes halfway is answered 500, not with half a page",
                hint="Look at the script's exit code: anything but 0 is 'failed'."):
        response = fetch(server, "GET", "/cgi-bin/crash")
        t.expect(response.status_code == 500, "500 Internal Server Error", summary(response))
    pids_file = Path(GATEWAY).parent / "lab02_scripts" / "hang.pids"
    pids_file.unlink(missing_ok=True)
    t.cleanups.append(lambda: end_leftovers(pids_file))  # whatever the answer left running
    limit = SCRIPT_DEADLINE + 5  # ending the process group and answering may be slow on a busy host
    with t.part(f"a script that hangs is answered 504 within {limit} s (its deadline is "
                f"{SCRIPT_DEADLINE} s)",
                hint="Give communicate() a timeout, and when it expires end the script's whole "
                     "process group; its helper holds standard output open until it dies."):
        started = time.monotonic()
        response = server.request("GET", "/cgi-bin/hang", timeout=limit + 0.5)
        waited = time.monotonic() - started
        t.expect(response.status_code == 504 and waited < limit, f"504 within {limit} s",
                 f"{summary(response)} after {waited:.1f} s")
    with t.part("the hanging script and the process it started are both gone",
                hint="End the script's whole process group, not only the script: its helper is in it."):
        pids = [int(pid) for pid in pids_file.read_text().split()] if pids_file.exists() else []
        t.expect(len(pids) == 2, "the script to have started (it writes hang.pids)", pids)
        deadline = time.monotonic() + 3
        while any(map(still_running, pids)) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = sum(map(still_running, pids))
        t.expect(left == 0, "no process left running", f"{left} of 2 still running")


def still_running(pid):
    """True if the process exists and is not a zombie waiting to be reaped."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def end_leftovers(pids_file):
    """Kill the hang script and its helper if the answer left them running (they are ours)."""
    import psutil

    pids = pids_file.read_text().split() if pids_file.exists() else []
    for pid in map(int, pids):
        try:
            process = psutil.Process(pid)
            if "lab02_scripts" in process.cwd() or "time.sleep(60)" in " ".join(process.cmdline()):
                process.kill()
                process.wait(2)
        except (psutil.Error, OSError):
            pass


# ----- 2.5: RFC 3875's rules for what a script is given and what it may answer -------------

BAD_STATUS_SCRIPT = Path("apps/lab02_scripts/badstatus.py")


@exercise("2.5")
def cgi_rules(t):
    BAD_STATUS_SCRIPT.write_text('"""Written by check("2.5"): a Status that is not a three-digit code."""\n'
                                 'print("Status: 2000 Much Better")\nprint("Content-Type: text/plain")\n'
                                 'print()\nprint("four digits")\n')
    server = start(t)
    env = script_env(t, server, "GET", "/cgi-bin/env",
                     headers={"Authorization": "Basic c2VjcmV0OnNlY3JldA=="})
    with t.part("SERVER_SOFTWARE names the gateway (RFC 3875 4.1.17)",
                hint="Set SERVER_SOFTWARE to request.server_version in meta_variables()."):
        t.expect(bool(env.get("SERVER_SOFTWARE")), "a non-empty SERVER_SOFTWARE", "none")
    with t.part("the client's Authorization header does not reach the script (RFC 3875 4.1.18)",
                hint="Skip the Authorization header when you turn headers into HTTP_* variables: "
                     "credentials are the server's business."):
        t.expect("HTTP_AUTHORIZATION" not in env, "no HTTP_AUTHORIZATION",
                 "HTTP_AUTHORIZATION was passed on")
    with t.part("a body that ends before its Content-Length gets 400, not a script run",
                hint="In read_body(), raise ValueError when fewer than Content-Length bytes arrive."):
        with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
            sock.sendall(b"POST /cgi-bin/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
            sock.shutdown(socket.SHUT_WR)
            data = b""
            try:
                while chunk := sock.recv(4096):
                    data += chunk
            except socket.timeout:
                raise CheckFailed(f"an answer within {WAIT} s", "no answer") from None
        line = data.split(b"\r\n")[0].decode("latin-1") or "(no answer)"
        t.expect(" 400 " in line, "'HTTP/1.1 400 Bad Request'", repr(line))
    with t.part("a Status that is not a three-digit code becomes 502 Bad Gateway (RFC 3875 6.3.3)",
                hint="In parse_output(), answer 502 when Status is not a code from 100 to 599."):
        response = fetch(server, "GET", "/cgi-bin/badstatus")
        t.expect(response.status_code == 502, "502 Bad Gateway", summary(response))
