"""Lab 09's wrong answers (format: tests/wrong_answers/__init__.py)."""
from pathlib import Path

import nbformat

from wrong_answers import Answer

SOLUTION = "09-solution-the-framework-family.ipynb"
BOTTLE_PORT = next(
    cell.source.split("\n", 1)[1]
    for cell in nbformat.read(Path(__file__).parents[2] / "solutions" / SOLUTION, as_version=4).cells
    if cell.cell_type == "code" and cell.source.startswith("%%writefile apps/port_wsgi.py\n"))
# The same port in Falcon: the check accepts any offered framework. READ is the line a mistake changes.
READ = "        raw = req.bounded_stream.read()"
FALCON_PORT = f'''"""The bookmarks core in Falcon (WSGI): resource classes, one error handler for the contract's shape."""
import falcon

import family_store as store


class Invalid(falcon.HTTPError):
    def __init__(self, e):
        super().__init__(falcon.HTTP_422, title=str(e))
        self.field = e.field


def json_error(req, resp, ex, params):
    resp.status = ex.status
    resp.media = store.error(int(str(ex.status)[:3]), ex.title or "error", getattr(ex, "field", None))


class Health:
    def on_get(self, req, resp):
        resp.media = {{"status": "ok"}}


class Bookmarks:
    def on_post(self, req, resp):
{READ}
        try:
            item = store.add(store.read_bookmark(raw))
        except store.BadRequest as e:
            raise falcon.HTTPBadRequest(title=str(e)) from None
        except store.BadField as e:
            raise Invalid(e) from None
        resp.status, resp.media = falcon.HTTP_201, item
        resp.location = f"/api/bookmarks/{{item['id']}}"

    def on_get(self, req, resp):
        try:
            resp.media = store.page(*store.page_args(req.params))
        except store.BadField as e:
            raise Invalid(e) from None


class Bookmark:
    def on_get(self, req, resp, item_id):
        item = store.get(item_id)
        if item is None:
            raise falcon.HTTPNotFound(title="no such bookmark")
        resp.media = item


app = falcon.App()
app.add_route("/health", Health())
app.add_route("/api/bookmarks", Bookmarks())
app.add_route("/api/bookmarks/{{item_id:int}}", Bookmark())
app.add_error_handler(falcon.HTTPError, json_error)
'''
TORNADO_PORT = next(
    cell.source.split("\n", 1)[1]
    for cell in nbformat.read(Path(__file__).parents[2] / "solutions" / SOLUTION, as_version=4).cells
    if cell.cell_type == "code" and cell.source.startswith("%%writefile apps/port_async.py\n"))
STARLETTE_PORT = '''"""The bookmarks core in Starlette (ASGI), the store called in a thread."""
import asyncio

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.routing import Route

import family_store as store


async def health(request):
    return JSONResponse({"status": "ok"})


async def create(request):
    try:
        bookmark = store.read_bookmark(await request.body())
    except store.BadRequest as e:
        return JSONResponse(store.error(400, str(e)), status_code=400)
    except store.BadField as e:
        return JSONResponse(store.error(422, str(e), e.field), status_code=422)
    item = await asyncio.to_thread(store.add, bookmark)
    return JSONResponse(item, status_code=201, headers={"Location": f"/api/bookmarks/{item['id']}"})


async def listing(request):
    try:
        args = store.page_args(request.query_params)
    except store.BadField as e:
        return JSONResponse(store.error(422, str(e), e.field), status_code=422)
    return JSONResponse(await asyncio.to_thread(store.page, *args))


async def one(request):
    item = await asyncio.to_thread(store.get, request.path_params["item_id"])
    if item is None:
        return JSONResponse(store.error(404, "no such bookmark"), status_code=404)
    return JSONResponse(item)


async def http_error(request, exc):
    return JSONResponse(store.error(exc.status_code, exc.detail), status_code=exc.status_code)


app = Starlette(routes=[
    Route("/health", health),
    Route("/api/bookmarks", create, methods=["POST"]),
    Route("/api/bookmarks", listing, methods=["GET"]),
    Route("/api/bookmarks/{item_id:int}", one),
], exception_handlers={HTTPException: http_error})
'''
PARSE_HINT = "Parse the body yourself"
ASYNC_HINT = "await asyncio.to_thread(store.add, bookmark)"

ANSWERS = [
    Answer("9.1", "Bottle's global default app: @route adds /health to an app gunicorn does not serve",
           edit=[("from bottle import Bottle, HTTPResponse, request", "from bottle import Bottle, HTTPResponse, request, route"),
                 ('@app.get("/health")', '@route("/health")')],
           says=['Add a route for /health']),
    Answer("9.1", "the 201 answer without a Location header",
           edit=[("    return answer(201, item, Location=f\"/api/bookmarks/{item['id']}\")",
                  "    return answer(201, item)")],
           says=["Set the Location header"]),
    Answer("9.1", "Bottle's request.json instead of the raw body: its HTML 400 page for a cut-off body",
           edit=[("        item = store.add(store.read_bookmark(request.body.read()))",
                  "        item = store.add(store.read_bookmark(json.dumps(request.json).encode()))")],
           says=[PARSE_HINT]),
    Answer("9.1", "a valid variation: the port written in Falcon instead of Bottle",
           edit=[(BOTTLE_PORT, FALCON_PORT)], passes=True),
    Answer("9.1", "Falcon's req.media on a bad body: a body nested too deep raises RecursionError, a 500",
           edit=[(BOTTLE_PORT, FALCON_PORT.replace(
               READ, "        raw = json.dumps(req.media).encode()  # Falcon parses the body for us").replace(
               "import falcon\n", "import json\n\nimport falcon\n", 1))],
           says=[PARSE_HINT]),
    Answer("9.2", "a blocking store call in a Tornado handler: SQLite runs on the IOLoop",
           edit=[("        item = await asyncio.to_thread(store.add, bookmark)", "        item = store.add(bookmark)")],
           says=[ASYNC_HINT]),
    Answer("9.2", "a blocking store call in a plain def Tornado handler, which Tornado runs on its loop too",
           edit=[("    async def get(self, item_id):", "    def get(self, item_id):"),
                 ("        item = await asyncio.to_thread(store.get, int(item_id))",
                  "        item = store.get(int(item_id))")],
           says=[ASYNC_HINT]),
    Answer("9.2", "the created bookmark answered with 200, not 201",
           edit=[("        self.answer(201, item)", "        self.answer(200, item)")],
           says=["Return the stored item"]),
    Answer("9.2", "an unknown id answered with the error body but status 200 (write, not answer)",
           edit=[('            return self.answer(404, store.error(404, "no such bookmark"))',
                  '            return self.write(store.error(404, "no such bookmark"))')],
           says=["Answer 404 when the store finds nothing"]),
    Answer("9.2", "no default handler: Tornado's own 404 page, in HTML, for a path no route matches",
           edit=[("    ], default_handler_class=NotFound)", "    ])")],
           says=["turn the framework's own 404 page into the JSON error"]),
    Answer("9.2", "a valid variation: the port written in Starlette, served by uvicorn",
           edit=[(TORNADO_PORT, STARLETTE_PORT)], passes=True),
    Answer("9.3", "a valid variation: run_in_executor on the default thread pool instead of to_thread",
           edit=[("        content = await asyncio.to_thread(call)",
                  "        content = await asyncio.get_running_loop().run_in_executor(None, call)")],
           passes=True),
    Answer("9.3", "the WSGI app called on the event loop, not in a thread",
           edit=[("        content = await asyncio.to_thread(call)", "        content = call()")],
           says=["asyncio.to_thread(...) or run_in_executor(...)"]),
    Answer("9.3", "the query string left out of the environ: limit, offset and tag are lost",
           edit=[('            "QUERY_STRING": scope["query_string"].decode("latin-1"),\n', "")],
           says=["read limit and offset from the query string"]),
    Answer("9.3", "the status start_response was given is dropped: every answer is a 200",
           edit=[('"status": started["status"],', '"status": 200,')],
           says=["Return the stored item"]),
]
