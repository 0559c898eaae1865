"""Plausible wrong answers to lab 06 (and at least one valid alternative per exercise), as plain data.

Each entry: the exercise, a label, the file whose %%writefile cell is replaced ("cell"), the
replacement source of that cell ("source": the solution's file with a few exact replacements), and a
substring the check's report must contain ("hint"), or valid=True for an answer that must pass.
tests/test_lab06.py drives every entry through the real checks.
"""
from pathlib import Path

import nbformat

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "06-fastapi.ipynb"
API, DB, MODELS = "apps/fastapi_bookmarks.py", "apps/fastapi_db.py", "apps/fastapi_models.py"
INDEX, TEST = "apps/templates/fastapi_index.html", "apps/test_fastapi_bookmarks.py"


def written(name):
    """The sources that the solution's %%writefile cells for `name` write, in order."""
    found = [cell.source.split("\n", 1)[1] for cell in nbformat.read(SOLUTION, as_version=4).cells
             if cell.cell_type == "code" and cell.source.startswith(f"%%writefile {name}\n")]
    if not found:
        raise LookupError(f"the solution writes no {name}")
    return found


def changed(name, *replacements):
    """The solution's last version of `name` with each (old, new) replaced; old must occur exactly once."""
    source = written(name)[-1]
    for old, new in replacements:
        if source.count(old) != 1:
            raise LookupError(f"{old!r} is not in {name} exactly once: update tests/wrong_answers_lab06.py")
        source = source.replace(old, new)
    return source


def entry(exercise, label, cell, *replacements, hint=None, valid=False, source=None):
    return {"exercise": exercise, "label": label, "cell": cell, "hint": hint, "valid": valid,
            "source": source if source is not None else changed(cell, *replacements)}


PREVIEW_404 = ('    item = store.get_bookmark(db, bookmark_id)\n    if item is None:\n'
               '        raise HTTPException(404, f"there is no bookmark {bookmark_id}")\n'
               '    return {"id": bookmark_id,')
TEST_BODY = ('        created = client.post("/api/bookmarks", json={"url": "https://fastapi.tiangolo.com/", '
             '"title": "FastAPI"},\n')


def wrong_answers():
    return [
        # 6.1 models, routes and a response model
        entry("6.1", "the response model declares added_from", MODELS,
              ("    tags: list[str]\n    # END SOLUTION\n\n\nclass Page",
               "    tags: list[str]\n    added_from: str\n    # END SOLUTION\n\n\nclass Page"),
              hint="added_from in the answer"),
        entry("6.1", "GET one without a response model", API,
              ('@app.get("/api/bookmarks/{bookmark_id}", response_model=Bookmark)',
               '@app.get("/api/bookmarks/{bookmark_id}")'), hint="added_from in the answer to GET"),
        entry("6.1", "no Location header", API,
              ('    response.headers["Location"] = str(request.url_for("read", bookmark_id=item["id"]))\n', ""),
              hint="Location"),
        entry("6.1", "create answers 200", API,
              ("status_code=201, response_model=Bookmark, dependencies=WRITE",
               "response_model=Bookmark, dependencies=WRITE"), hint="201"),
        entry("6.1", "total is the length of the page", API,
              ('"items": items, "total": total,', '"items": items, "total": len(items),'), hint="COUNT"),
        entry("6.1", "a return annotation instead of response_model", API,
              ('@app.get("/api/bookmarks/{bookmark_id}", response_model=Bookmark)\n'
               'def read(bookmark_id: int, db: DB):',
               '@app.get("/api/bookmarks/{bookmark_id}")\ndef read(bookmark_id: int, db: DB) -> Bookmark:'),
              valid=True),
        # 6.2 a session that is always closed
        entry("6.2", "the first version: never closed", DB, source=written(DB)[0], hint="with yield"),
        entry("6.2", "a with block (commits, does not close)", DB,
              ("    db = connect()\n    try:\n        yield db\n    finally:\n        db.close()\n",
               "    with connect() as db:\n        yield db\n"), hint="still open"),
        entry("6.2", "one connection shared by every request", DB,
              ("def get_db():\n    # BEGIN SOLUTION\n    db = connect()\n    try:\n        yield db\n"
               "    finally:\n        db.close()\n",
               "shared = connect()\n\n\ndef get_db():\n    # BEGIN SOLUTION\n    yield shared\n"),
              hint="open one per request"),
        entry("6.2", "closed before the endpoint uses it", DB,
              ("    db = connect()\n    try:\n        yield db\n    finally:\n        db.close()\n",
               "    db = connect()\n    db.close()\n    yield db\n"), hint="201 from POST"),
        entry("6.2", "contextlib.closing", DB,
              ('from fastapi_store import connect\n', 'from contextlib import closing\n\nfrom fastapi_store import connect\n'),
              ("    db = connect()\n    try:\n        yield db\n    finally:\n        db.close()\n",
               "    with closing(connect()) as db:\n        yield db\n"), valid=True),
        # 6.3 errors in the contract's shape
        entry("6.3", "FastAPI's default 422 body kept", API,
              ("@app.exception_handler(RequestValidationError)\n", ""), hint='the error shape {"error"'),
        entry("6.3", "malformed JSON left a 422", API,
              ('    if first["type"] == "json_invalid":\n'
               '        return error(400, f"the body is not valid JSON: {first[\'msg\']}")\n', ""),
              hint="400 for a POST whose body is cut-off JSON"),
        entry("6.3", "Starlette's Allow kept as it is", API,
              ("    if exc.status_code == 405:", "    if False:"), hint="Allow: GET, POST"),
        entry("6.3", "FastAPI's max_body_size instead of the middleware", API,
              ('app = FastAPIOffline(title="Bookmarks")', 'app = FastAPIOffline(title="Bookmarks", max_body_size=MAX_BODY)'),
              ("app.add_middleware(LimitBody, max_bytes=MAX_BODY)\n", ""), hint="the 413 error as JSON"),
        entry("6.3", "the field taken from the end of loc", API,
              ('names[0] if names else "body"', 'str(first["loc"][-1])'), hint='"field": "tags"'),
        entry("6.3", "the field taken from loc[1]", API,
              ('names[0] if names else "body"', 'str(first["loc"][1]) if len(first["loc"]) > 1 else "body"'),
              valid=True),
        # 6.4 the API key
        entry("6.4", "keys compared with !=", API,
              ("not hmac.compare_digest(presented.encode(), expected.encode())", "presented != expected"),
              hint="compare_digest"),
        entry("6.4", "a key written into the code", API,
              ('expected = os.environ.get("BOOKMARKS_API_KEY", "")', 'expected = "dev-secret-key-42"'),
              hint="no key-like string"),
        entry("6.4", "401 without WWW-Authenticate", API,
              (",\n                            headers={\"WWW-Authenticate\": 'Bearer realm=\"bookmarks\"'})", ")"),
              hint="WWW-Authenticate: Bearer"),
        entry("6.4", "the Bearer scheme not checked", API,
              ('if scheme != "Bearer" or not expected or', "if not expected or"), hint="Basic"),
        entry("6.4", "secrets.compare_digest (the same function)", API,
              ("import hmac\n", "import hmac\nimport secrets\n"),
              ("not hmac.compare_digest(presented.encode()", "not secrets.compare_digest(presented.encode()"),
              valid=True),
        # 6.5 the page
        entry("6.5", "title marked |safe", INDEX, ("{{ b.title }}", "{{ b.title|safe }}"), hint="|safe"),
        entry("6.5", "tags shown but not linked", INDEX,
              ('<a class="tag" href="?tag={{ t | urlencode }}">{{ t }}</a>', "<span>{{ t }}</span>"),
              hint='a link to "?tag='),
        entry("6.5", "title not a link", INDEX,
              ('<a href="{{ b.url }}">{{ b.title }}</a>', "{{ b.title }} ({{ b.url }})"), hint="a link <a href"),
        entry("6.5", "the page ignores ?tag=", API,
              ("store.list_bookmarks(db, 50, 0, tag or None, newest_first=True)",
               "store.list_bookmarks(db, 50, 0, None, newest_first=True)"), hint="the filtered page"),
        entry("6.5", "tag links built with url_for", INDEX,
              ('href="?tag={{ t | urlencode }}"', "href=\"{{ url_for('index').include_query_params(tag=t) }}\""),
              valid=True),
        # 6.6 a slow call that stalls nobody
        entry("6.6", "fetch_preview called in async def", API,
              ("def preview(bookmark_id: int, db: DB):", "async def preview(bookmark_id: int, db: DB):"),
              hint="the slowest /health took"),
        entry("6.6", "run_in_threadpool not awaited", API,
              ("from fastapi import Depends,", "from fastapi.concurrency import run_in_threadpool\nfrom fastapi import Depends,"),
              ("def preview(bookmark_id: int, db: DB):", "async def preview(bookmark_id: int, db: DB):"),
              ('"preview": fetch_preview(item["url"])', '"preview": run_in_threadpool(fetch_preview, item["url"])'),
              hint="200 from GET"),
        entry("6.6", "no 404 for an unknown id", API,
              (PREVIEW_404, '    item = store.get_bookmark(db, bookmark_id)\n    return {"id": bookmark_id,'),
              hint="404 for an unknown id"),
        entry("6.6", "only the text, not the object", API,
              ('return {"id": bookmark_id, "preview": fetch_preview(item["url"])}', 'return fetch_preview(item["url"])'),
              hint='{"id": ..., "preview": "..."}'),
        entry("6.6", "async def with await run_in_threadpool", API,
              ("from fastapi import Depends,", "from fastapi.concurrency import run_in_threadpool\nfrom fastapi import Depends,"),
              ("def preview(bookmark_id: int, db: DB):", "async def preview(bookmark_id: int, db: DB):"),
              ('"preview": fetch_preview(item["url"])', '"preview": await run_in_threadpool(fetch_preview, item["url"])'),
              valid=True),
        # 6.7 a test with an overridden dependency
        entry("6.7", "no override: the real database", TEST,
              ("    app.dependency_overrides[get_db] = lambda: memory\n", ""), hint="no override of get_db"),
        entry("6.7", "the override is never cleared", TEST,
              ("        app.dependency_overrides.clear()\n", ""), hint="still overridden: get_db"),
        entry("6.7", "a test that cannot fail", TEST,
              (TEST_BODY, '        assert client.get("/health").status_code == 200\n        return\n' + TEST_BODY),
              hint="pytest to report a failure with a broken store"),
        entry("6.7", "the override opens the real file", TEST,
              ("app.dependency_overrides[get_db] = lambda: memory", "app.dependency_overrides[get_db] = fastapi_store.connect"),
              hint="pytest: all passed"),
        entry("6.7", "only get_db's override removed, with pop", TEST,
              ("app.dependency_overrides.clear()", "app.dependency_overrides.pop(get_db)"), valid=True),
    ]
