"""Lab 09 and lesson 09, the framework family: the contract's CORE clauses, checked against any
framework's server. The core is what every sample of the family serves: /health, create with a
Location, get one, a paginated list, and the JSON errors for a malformed body and a missing field."""
import ast

from coursekit.checks import CheckFailed, exercise
from coursekit.contract import Clause, Probe, Report, clauses, expect_error, run_clause
from coursekit.labs.contract_checks import fresh_env, function_in, source_of
from coursekit.servers import launch

CORE = ["routes.health", "routes.create", "routes.location", "routes.get", "routes.list",
        "errors.malformed_json", "errors.missing_field"]


def get_not_found(probe):
    """The GET half of the contract's errors.not_found (the core has no PATCH or DELETE)."""
    for missing in ("/api/bookmarks/987654321", "/api/bookmarks/" + "9" * 20, "/api/bookmarks/abc"):
        expect_error(probe.request("GET", missing, key=None), 404, f"GET {missing}")
    expect_error(probe.request("GET", "/no/such/page", key=None), 404, "GET /no/such/page")


GET_NOT_FOUND = Clause(
    "errors.get_not_found", "errors",
    "GET of an unknown id, of an id too large for SQLite's INTEGER or not a number, and of an unknown "
    "path answers 404 with the error shape",
    "Answer 404 when the store finds nothing; route only ids made of digits; turn the framework's own "
    "404 page into the JSON error (its error handler, or a default handler).", get_not_found)


def core_clauses():
    """The contract's clauses named in CORE, in contract order, then GET_NOT_FOUND."""
    return [c for c in clauses() if c.id in CORE] + [GET_NOT_FOUND]


def run_core(server, api_key="unused-by-the-core") -> Report:
    """Check the core clauses against a running server (a launch() handle or a base URL)."""
    probe = Probe(getattr(server, "url", server), api_key, url_prefix=getattr(server, "url_prefix", ""))
    try:
        return Report([run_clause(c, probe) for c in core_clauses()])
    finally:
        probe.session.close()


# ----------------------------------------------------------------------------------------------
# Lab 09: the core ported to a WSGI framework, to an ASGI or own-loop one, and a WSGI-in-ASGI adapter.

WSGI_PORT = "apps/port_wsgi.py"
ASYNC_PORT = "apps/port_async.py"
ADAPTED = "apps/port_adapted.py"   # the WSGI port wrapped by the student's adapter, served on uvicorn
ADAPTER = "apps/wsgi_in_asgi.py"
WSGI_FRAMEWORKS = {"bottle": "gunicorn", "falcon": "gunicorn", "pyramid": "gunicorn"}
ASYNC_FRAMEWORKS = {"tornado": "script", "starlette": "uvicorn", "falcon.asgi": "uvicorn",
                    "litestar": "uvicorn", "quart": "uvicorn", "sanic": "script"}
STORE_CALLS = {"add", "get", "page"}


def framework_of(path, offered):
    """The offered framework the file imports (the most specific name first), or None."""
    imported = set()
    for node in ast.walk(ast.parse(source_of(path))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    for name in sorted(offered, key=len, reverse=True):
        if any(module == name or module.startswith(name + ".") for module in imported):
            return name
    return None


def port_framework(t, path, offered):
    with t.part(f"{path} uses one of the offered frameworks ({', '.join(sorted(offered))})", required=True,
                hint="Import the framework you chose at the top of the file, e.g. `from bottle import Bottle`."):
        name = framework_of(path, offered)
        t.expect(name is not None, "an import of " + " or ".join(sorted(offered)), "none of them")
    return name


def core_parts(t, server):
    """One part per core clause, each saying what the contract expects and what came back."""
    for outcome in run_core(server).outcomes:
        with t.part(outcome.clause.description, hint=outcome.clause.hint):
            if not outcome.passed:
                raise CheckFailed(outcome.expected, outcome.got)


def store_calls_on_the_loop(path):
    """'line N in f(): store.add(...)' for each store call made on the event loop thread: in an
    async def, or (Tornado) in a plain def of a handler class, which Tornado also runs on its loop."""
    found = []
    tree = ast.parse(source_of(path))
    handlers = [f for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for f in c.body
                if isinstance(f, ast.FunctionDef)] if framework_of(path, {"tornado"}) else []
    functions = [f for f in ast.walk(tree) if isinstance(f, ast.AsyncFunctionDef)] + handlers
    for function in functions:
        for node in ast.walk(function):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and ((node.func.value.id == "store" and node.func.attr in STORE_CALLS)
                         or (node.func.value.id, node.func.attr) == ("time", "sleep"))):
                found.append(f"line {node.lineno} in {function.name}(): {ast.unparse(node.func)}(...)")
    return found


@exercise("9.1")
def wsgi_port(t):
    name = port_framework(t, WSGI_PORT, WSGI_FRAMEWORKS)
    core_parts(t, t.launch(WSGI_PORT, WSGI_FRAMEWORKS[name], env=fresh_env(t)))


@exercise("9.2")
def async_port(t):
    name = port_framework(t, ASYNC_PORT, ASYNC_FRAMEWORKS)
    with t.part(f"no handler in {ASYNC_PORT} calls the store on the event loop",
                hint="A store call on the loop stops every other request while SQLite works: write "
                     "await asyncio.to_thread(store.add, bookmark) in an async handler instead."):
        found = store_calls_on_the_loop(ASYNC_PORT)
        t.expect(not found, "every store call in asyncio.to_thread (or a thread pool)", "; ".join(found[:3]))
    core_parts(t, t.launch(ASYNC_PORT, ASYNC_FRAMEWORKS[name], env=fresh_env(t)))


@exercise("9.3")
def adapter(t):
    with t.part(f"wsgi_to_asgi in {ADAPTER} runs the WSGI app in a thread, off the loop",
                hint="A WSGI app blocks: call it with await asyncio.to_thread(...) (or "
                     "loop.run_in_executor), as asgiref's WsgiToAsgi runs it in a thread too."):
        node = function_in(ADAPTER, "wsgi_to_asgi")
        calls = {getattr(n.func, "attr", getattr(n.func, "id", "")) for n in ast.walk(node) if isinstance(n, ast.Call)}
        t.expect(calls & {"to_thread", "run_in_executor", "run_in_threadpool"},
                 "asyncio.to_thread(...) or run_in_executor(...) in wsgi_to_asgi", "neither")
    ours = t.launch(ADAPTED, "uvicorn", env=fresh_env(t))
    core_parts(t, ours)
    with t.part("your adapter answers as asgiref's WsgiToAsgi does around the same WSGI app",
                hint="Compare status, Content-Type and body: the environ must carry the method, the path "
                     "(without root_path), QUERY_STRING, CONTENT_TYPE, CONTENT_LENGTH and the body."):
        reference = launch(ADAPTED, "uvicorn", app="reference", name="check-asgiref-reference",
                           env=fresh_env(t), quiet=True)
        t.servers.append(reference)
        for method, path, body in (("GET", "/health", None), ("GET", "/api/bookmarks?limit=1&offset=0", None),
                                   ("POST", "/api/bookmarks", b'{"title": "no url"}'), ("POST", "/api/bookmarks", b"{")):
            answers = []
            for server in (ours, reference):
                response = server.request(method, path, data=body, headers={"Content-Type": "application/json"})
                answers.append((response.status_code, response.headers.get("Content-Type", "").split(";")[0],
                                response.json() if body is not None else response.json().keys()))
            t.expect(answers[0] == answers[1], f"{method} {path}: {answers[1][:2]} as WsgiToAsgi answers",
                     f"{answers[0][:2]}")
