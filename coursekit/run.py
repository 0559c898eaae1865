"""Serve an app file with a framework's own server: `python run.py KIND FILE ATTR PORT`.

Started by coursekit.servers as a separate process, as a file rather than a module so that it
imports only the standard library and the framework (a quick start).
"""
import os
import sys
import traceback
import types
from pathlib import Path

HOST = "127.0.0.1"


def load_app(file, attr):
    """Run FILE as a module (its folder on sys.path, like `python FILE`) and return FILE.attr."""
    path = Path(file)
    sys.path.insert(0, str(path.resolve().parent))
    module = types.ModuleType(path.stem)
    module.__file__ = str(path.resolve())
    sys.modules[path.stem] = module
    try:
        # Compiled under its short name, so tracebacks read the same wherever the course lives.
        exec(compile(path.read_bytes(), path.name, "exec"), module.__dict__)
    except Exception as error:
        # Show the student's own lines only, not this runner's frames.
        exc = traceback.TracebackException.from_exception(error)
        exc.stack = traceback.StackSummary.from_list(
            [f for f in exc.stack if f.filename != __file__])
        sys.exit("".join(exc.format()))
    try:
        return getattr(module, attr)
    except AttributeError:
        sys.exit(f"{path.name} defines no {attr!r}: name your application {attr!r} "
                 f"or pass app='...' to launch().")


def serve_wsgiref(app, port):
    from wsgiref.simple_server import WSGIServer, make_server

    class Server(WSGIServer):
        request_queue_size = 128  # wsgiref's default of 5 drops connections under load

    with make_server(HOST, port, app, server_class=Server) as httpd:
        print(f"wsgiref serving on http://{HOST}:{port}/", flush=True)
        httpd.serve_forever()


def serve_flask(app, port):
    if os.environ.get("COURSEKIT_URL_PREFIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind jupyter-server-proxy: trust its X-Forwarded-Prefix so url_for() builds proxied URLs.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)
    app.run(host=HOST, port=port, debug=False, use_reloader=False)


def serve_aiohttp(app, port):
    from aiohttp import web

    if callable(app) and not isinstance(app, web.Application):
        app = app()  # an app factory (may return a coroutine; run_app accepts both)
    web.run_app(app, host=HOST, port=port)


def main(kind, file, attr, port):
    app = load_app(file, attr)
    serve = {"wsgiref": serve_wsgiref, "flask": serve_flask, "aiohttp": serve_aiohttp}[kind]
    serve(app, int(port))


if __name__ == "__main__":
    try:
        main(*sys.argv[1:5])
    except KeyboardInterrupt:
        pass
