"""Serve an app file with a server: `python run.py KIND FILE ATTR PORT [SERVER ARGS...]`.

Started by coursekit.servers as a separate process, as a file rather than a module so that it
imports only the standard library and the server. It imports the student's file itself first, so an
error there shows the student's own lines only, and a wrong kind is named before any server starts.
"""
import os
import sys
import types
from pathlib import Path

HOST = "127.0.0.1"
CO_COROUTINE = 0x80  # the code flag of an `async def` function (inspect.CO_COROUTINE)
CO_VARARGS = 0x04  # a function taking *args (inspect.CO_VARARGS)
# What each kind serves, and which kind to use for each sort of app.
SERVES = {"wsgiref": ("wsgi", "flask"), "gunicorn": ("wsgi", "flask"), "flask": ("flask",),
          "uvicorn": ("asgi",), "aiohttp": ("aiohttp", "factory")}
USE = {"wsgi": "kind='wsgiref' or kind='gunicorn'", "flask": "kind='flask' (or 'gunicorn')",
       "asgi": "kind='uvicorn'", "aiohttp": "kind='aiohttp'"}


def load_app(file, attr):
    """Run FILE as a module (its folder on sys.path, like `python FILE`) and return FILE.attr."""
    path = Path(file)
    sys.path.insert(0, str(path.resolve().parent))
    module = types.ModuleType(path.stem)
    module.__file__ = str(path.resolve())
    sys.modules[path.stem] = module  # gunicorn and uvicorn then import this very module by name
    try:
        # Compiled under its short name, so tracebacks read the same wherever the course lives.
        exec(compile(path.read_bytes(), path.name, "exec"), module.__dict__)
    except Exception as error:
        import traceback  # only now: every import here delays the server's start

        # Show the student's own lines only, not this runner's frames.
        exc = traceback.TracebackException.from_exception(error)
        exc.stack = traceback.StackSummary.from_list(
            [f for f in exc.stack if f.filename != __file__])
        sys.exit("".join(exc.format()))
    try:
        return getattr(module, attr.split("(")[0])
    except AttributeError:
        sys.exit(f"{path.name} defines no {attr!r}: name your application {attr!r} "
                 f"or pass app='...' to launch().")


def sort_of(app):
    """(sort, words): what kind of app this is, judged without calling it."""
    tops = {cls.__module__.split(".")[0] for cls in type(app).__mro__}
    if "flask" in tops:
        return "flask", "a Flask app"
    if tops & {"fastapi", "starlette"}:
        return "asgi", f"a {type(app).__name__} app (ASGI)"
    if "aiohttp" in tops:
        return "aiohttp", "an aiohttp Application"
    # Read from the code object, not with `inspect`, whose import would slow every start.
    if isinstance(app, types.FunctionType):
        call, params = app, 0
    elif isinstance(app, types.MethodType):
        call, params = app.__func__, -1
    else:  # an object with __call__ (self is not a parameter the server passes)
        call, params = getattr(type(app), "__call__", None), -1
    code = getattr(call, "__code__", None)
    if isinstance(app, type) or code is None or code.co_flags & CO_VARARGS:
        return "unknown", "something else"  # a class, a builtin, or a wrapper taking *args
    params += code.co_argcount
    if params == 0:
        return "factory", "an app factory"
    if code.co_flags & CO_COROUTINE:
        return "asgi", "an ASGI app (an async function)"
    return "wsgi", "a WSGI app (a plain function)"


def check_kind(kind, app, file, attr, args):
    sort, words = sort_of(app)
    if kind == "uvicorn" and "--interface" in args:
        return
    # A gunicorn worker class decides what it serves (aiohttp's GunicornWebWorker serves aiohttp).
    if kind == "gunicorn" and any(a in ("-k", "--worker-class") or a.startswith("--worker-class=")
                                  for a in args):
        return
    # A factory the server calls itself: gunicorn's "create_app()", uvicorn's --factory. What it
    # returns is only known once called, in the worker; the server reports a wrong one there.
    if sort == "factory" and ((kind == "gunicorn" and attr.endswith(")")) or
                              (kind == "uvicorn" and "--factory" in args)):
        return
    if sort == "factory" and kind in ("gunicorn", "uvicorn"):
        how = f"app='{attr}()'" if kind == "gunicorn" else "args=['--factory']"
        sys.exit(f"{file}'s {attr} is an app factory: launch it with {how}, so that {kind} calls it "
                 "and serves the app it returns.")
    if sort != "unknown" and sort not in SERVES[kind]:
        sys.exit(f"{file}'s {attr} is {words}, which kind={kind!r} cannot serve: launch it "
                 f"with {USE.get(sort, 'another kind')}.")


def serve_wsgiref(app, port, module, attr, args):
    from wsgiref.simple_server import WSGIServer, make_server

    class Server(WSGIServer):
        request_queue_size = 128  # wsgiref's default of 5 drops connections under load

    with make_server(HOST, port, app, server_class=Server) as httpd:
        print(f"wsgiref serving on http://{HOST}:{port}/", flush=True)
        httpd.serve_forever()


def serve_flask(app, port, module, attr, args):
    if os.environ.get("COURSEKIT_URL_PREFIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind jupyter-server-proxy: trust its X-Forwarded-Prefix so url_for() builds proxied URLs.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)
    app.run(host=HOST, port=port, debug=False, use_reloader=False)


def serve_aiohttp(app, port, module, attr, args):
    from aiohttp import web

    if callable(app) and not isinstance(app, web.Application):
        app = app()  # an app factory (may return a coroutine; run_app accepts both)
    web.run_app(app, host=HOST, port=port)


GUNICORN_READY = "Worker ready:"  # servers.KINDS["gunicorn"].ready_log waits for this line


def serve_gunicorn(app, port, module, attr, args):
    from gunicorn.app.wsgiapp import WSGIApplication

    class Gunicorn(WSGIApplication):
        """gunicorn's own command line, plus one log line once a worker has loaded the app. Its
        master says "Listening at:" before any worker has started: a request sent then waits,
        and on a busy machine it can wait longer than a client's deadline."""

        def load_config(self):
            super().load_config()
            their_hook = self.cfg.post_worker_init  # a -c config file may set one: keep it

            def say_ready(worker):
                their_hook(worker)
                worker.log.info("%s worker %s has loaded %s", GUNICORN_READY, worker.pid, self.app_uri)
            self.cfg.set("post_worker_init", say_ready)

    # gunicorn 27 opens a control socket at ~/.gunicorn/gunicorn.ctl, one path for every gunicorn
    # a student starts: the course never uses it, so two servers must not fight over it.
    control = [] if any(a.startswith("--control-socket") for a in args) else ["--no-control-socket"]
    sys.argv = ["gunicorn", f"{module}:{attr}", "--bind", f"{HOST}:{port}", *control, *args]
    Gunicorn("%(prog)s [OPTIONS] [APP_MODULE]").run()


def serve_uvicorn(app, port, module, attr, args):
    import uvicorn.main

    prefix = os.environ.get("COURSEKIT_URL_PREFIX", "").rstrip("/")
    root = ["--root-path", prefix] if prefix else []
    uvicorn.main.main([f"{module}:{attr}", "--host", HOST, "--port", str(port), *root, *args],
                      prog_name="uvicorn")


def main(kind, file, attr, port, *args):
    app = load_app(file, attr)
    check_kind(kind, app, file, attr, args)
    serve = {"wsgiref": serve_wsgiref, "flask": serve_flask, "aiohttp": serve_aiohttp,
             "gunicorn": serve_gunicorn, "uvicorn": serve_uvicorn}[kind]
    serve(app, int(port), Path(file).stem, attr, list(args))


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except KeyboardInterrupt:
        pass
