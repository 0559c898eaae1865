"""Lab 06's wrong answers (format: tests/wrong_answers/__init__.py)."""
from wrong_answers import Answer

SOLUTION = "06-solution-fastapi.ipynb"
PREVIEW_404 = ('    item = store.get_bookmark(db, bookmark_id)\n    if item is None:\n'
               '        raise HTTPException(404, f"there is no bookmark {bookmark_id}")\n'
               '    return {"id": bookmark_id,')
CLOSED = "    db = connect()\n    try:\n        yield db\n    finally:\n        db.close()\n"
TEST_BODY = ('        created = client.post("/api/bookmarks", json={"url": "https://fastapi.tiangolo.com/", '
             '"title": "FastAPI"},\n')
# Exercise 6.4's key: HTTPBearer in the solution, or the header read by hand.
HELPER_CALL = "                require_key(await bearer(request))\n"
HAND_CALL = '                require_key(request.headers.get("Authorization", ""))\n'
HELPER_START = ("def require_key(credentials: Credentials):\n    # BEGIN SOLUTION\n"
                '    presented = credentials.credentials if credentials else ""\n')
HAND_START = 'def require_key(authorization: Annotated[str, Header()] = ""):\n    # BEGIN SOLUTION\n'

ANSWERS = [
    Answer("6.1", "the response model declares added_from",
           edit=[("    tags: list[str]\n    # END SOLUTION\n\n\nclass Page",
                  "    tags: list[str]\n    added_from: str\n    # END SOLUTION\n\n\nclass Page")],
           says=["added_from in the answer"]),
    Answer("6.1", "GET one without a response model",
           edit=[('@app.get("/api/bookmarks/{bookmark_id:bookmark_id}", response_model=Bookmark, responses=answers(404))',
                  '@app.get("/api/bookmarks/{bookmark_id:bookmark_id}", responses=answers(404))')],
           says=["added_from in the answer to GET"]),
    Answer("6.1", "no Location header",
           edit=[('    response.headers["Location"] = str(request.url_for("read", bookmark_id=item["id"]))\n', "")],
           says=["Location"]),
    Answer("6.1", "create answers 200",
           edit=[("status_code=201, response_model=Bookmark, dependencies=WRITE",
                  "response_model=Bookmark, dependencies=WRITE")],
           says=["201"]),
    Answer("6.1", "total is the length of the page",
           edit=[('"items": items, "total": total,', '"items": items, "total": len(items),')],
           says=["COUNT"]),
    Answer("6.1", "a return annotation instead of response_model",
           edit=[('@app.get("/api/bookmarks/{bookmark_id:bookmark_id}", response_model=Bookmark, responses=answers(404))\n'
                  'def read(bookmark_id: int, db: DB):',
                  '@app.get("/api/bookmarks/{bookmark_id:bookmark_id}", responses=answers(404))\n'
                  'def read(bookmark_id: int, db: DB) -> Bookmark:')],
           passes=True),
    # 6.2 a session that is always closed
    Answer("6.2", "the first version: never closed",
           edit=[(CLOSED, "    return connect()\n")],
           says=["with yield"]),
    Answer("6.2", "a with block (commits, does not close)",
           edit=[(CLOSED,
                  "    with connect() as db:\n        yield db\n")],
           says=["still open"]),
    Answer("6.2", "one connection shared by every request",
           edit=[("def get_db():\n    # BEGIN SOLUTION\n    db = connect()\n    try:\n        yield db\n"
                  "    finally:\n        db.close()\n",
                  "shared = connect()\n\n\ndef get_db():\n    # BEGIN SOLUTION\n    yield shared\n")],
           says=["open one per request"]),
    Answer("6.2", "closed before the endpoint uses it",
           edit=[(CLOSED,
                  "    db = connect()\n    db.close()\n    yield db\n")],
           says=["201 from POST"]),
    Answer("6.2", "contextlib.closing",
           edit=[('done."""\nfrom fastapi_store import connect\n',
                  'done."""\nfrom contextlib import closing\n\nfrom fastapi_store import connect\n'),
                 (CLOSED,
                  "    with closing(connect()) as db:\n        yield db\n")],
           passes=True),
    Answer("6.2", "update reads the item, changes it and writes all of it back",
           edit=[('''    tags = json.dumps(fields["tags"]) if "tags" in fields else None
    cursor = db.execute("UPDATE bookmark SET url = COALESCE(?, url), title = COALESCE(?, title), "
                        "tags = COALESCE(?, tags) WHERE id = ?",
                        (fields.get("url"), fields.get("title"), tags, bookmark_id))
    item = get_bookmark(db, bookmark_id) if cursor.rowcount == 1 else None
    db.commit()
    return item''', '''    item = get_bookmark(db, bookmark_id)
    if item is None:
        return None
    item.update(fields)
    db.execute("UPDATE bookmark SET url = ?, title = ?, tags = ? WHERE id = ?",
               (item["url"], item["title"], json.dumps(item["tags"]), bookmark_id))
    db.commit()
    return item''')],
           says=["changes lost in"]),
    # 6.3 errors in the contract's shape
    Answer("6.3", "FastAPI's default 422 body kept",
           edit=[("@app.exception_handler(RequestValidationError)\n", "")],
           says=['the error shape {"error"']),
    Answer("6.3", "malformed JSON left a 422",
           edit=[('    if first["type"] == "json_invalid":\n'
                  '        return error(400, f"the body is not valid JSON: {first[\'msg\']}")\n', "")],
           says=["400 for a POST whose body is cut-off JSON"]),
    Answer("6.3", "Starlette's Allow kept as it is",
           edit=[("    if exc.status_code == 405:", "    if False:")],
           says=["Allow: GET, POST"]),
    Answer("6.3", "FastAPI's max_body_size instead of the middleware",
           edit=[('app = FastAPIOffline(title="Bookmarks")', 'app = FastAPIOffline(title="Bookmarks", max_body_size=MAX_BODY)'),
                 ("app.add_middleware(LimitBody, max_bytes=MAX_BODY)\n", "")],
           says=["the 413 error as JSON"]),
    Answer("6.3", "the field taken from the end of loc",
           edit=[('names[0] if names else "body"', 'str(loc[-1])')],
           says=['"field": "tags"']),
    Answer("6.3", "the field taken from loc[1]",
           edit=[('names[0] if names else "body"', 'str(loc[1]) if len(loc) > 1 else "body"')],
           passes=True),
    Answer("6.3", "PATCH fields that allow None: null is stored",
           edit=[("    url: Url = None\n    title: Title = None\n    tags: Tags = None\n",
                  "    url: Url | None = None\n    title: Title | None = None\n    tags: Tags | None = None\n")],
           says=["a PATCH with url = null"]),
    Answer("6.3", "unknown fields ignored (Pydantic's default)",
           edit=[('''    model_config = ConfigDict(strict=True, extra="forbid")  # extra="forbid": "titel" is a 422, not ignored''',
                  "    model_config = ConfigDict(strict=True)")],
           says=["unknown field 'titel'"]),
    # 6.4 the API key
    Answer("6.4", "keys compared with !=",
           edit=[("not hmac.compare_digest(presented.encode(), expected.encode())", "presented != expected")],
           says=["compare_digest"]),
    Answer("6.4", "a key written into the code",
           edit=[('expected = os.environ.get("BOOKMARKS_API_KEY", "")', 'expected = "dev-secret-key-42"')],
           says=["no key-like string"]),
    Answer("6.4", "401 without WWW-Authenticate",
           edit=[(",\n                            headers={\"WWW-Authenticate\": 'Bearer realm=\"bookmarks\"'})", ")")],
           says=["WWW-Authenticate: Bearer"]),
    Answer("6.4", "the header read by hand, the Bearer scheme not checked",
           edit=[(HELPER_CALL, HAND_CALL),
                 (HELPER_START, HAND_START + '    _, _, presented = authorization.partition(" ")\n')],
           says=["Basic"]),
    Answer("6.4", "the header read by hand with Header(), the scheme checked (/docs cannot send it, the checks pass)",
           edit=[(HELPER_CALL, HAND_CALL),
                 (HELPER_START, HAND_START + '    scheme, _, presented = authorization.partition(" ")\n'
                                             '    if scheme.lower() != "bearer":\n        presented = ""\n')],
           passes=True),
    Answer("6.4", "secrets.compare_digest (the same function)",
           edit=[("import hmac\n", "import hmac\nimport secrets\n"),
                 ("not hmac.compare_digest(presented.encode()", "not secrets.compare_digest(presented.encode()")],
           passes=True),
    # 6.5 the page
    Answer("6.5", "title marked |safe",
           edit=[("{{ b.title }}", "{{ b.title|safe }}")],
           says=["|safe"]),
    Answer("6.5", "tags shown but not linked",
           edit=[('<a class="tag" href="?tag={{ t | urlencode }}">{{ t }}</a>', "<span>{{ t }}</span>")],
           says=['a link to "?tag=']),
    Answer("6.5", "title not a link",
           edit=[('<a href="{{ b.url }}">{{ b.title }}</a>', "{{ b.title }} ({{ b.url }})")],
           says=["a link <a href"]),
    Answer("6.5", "the page ignores ?tag=",
           edit=[("store.list_bookmarks(db, 50, 0, tag or None, newest_first=True)",
                  "store.list_bookmarks(db, 50, 0, None, newest_first=True)")],
           says=["the filtered page"]),
    Answer("6.5", "tag links built with url_for",
           edit=[('href="?tag={{ t | urlencode }}"', "href=\"{{ url_for('index').include_query_params(tag=t) }}\"")],
           passes=True),
    # 6.6 a slow call that stalls nobody
    Answer("6.6", "fetch_preview called in async def",
           edit=[("def preview(bookmark_id: int, db: DB):", "async def preview(bookmark_id: int, db: DB):")],
           says=["every /health waited until the preview was done"]),
    Answer("6.6", "run_in_threadpool not awaited",
           edit=[("from fastapi import Depends,", "from fastapi.concurrency import run_in_threadpool\nfrom fastapi import Depends,"),
                 ("def preview(bookmark_id: int, db: DB):", "async def preview(bookmark_id: int, db: DB):"),
                 ('"preview": fetch_preview(item["url"])', '"preview": run_in_threadpool(fetch_preview, item["url"])')],
           says=["200 from GET"]),
    Answer("6.6", "no 404 for an unknown id",
           edit=[(PREVIEW_404, '    item = store.get_bookmark(db, bookmark_id)\n    return {"id": bookmark_id,')],
           says=["404 for an unknown id"]),
    Answer("6.6", "a plain {bookmark_id} in the path: a huge id reaches SQLite",
           edit=[('@app.get("/api/bookmarks/{bookmark_id:bookmark_id}/preview"', '@app.get("/api/bookmarks/{bookmark_id}/preview"')],
           says=["404 for GET /api/bookmarks/999999999999999999999999/preview"]),
    Answer("6.6", "only the text, not the object",
           edit=[('return {"id": bookmark_id, "preview": fetch_preview(item["url"])}', 'return fetch_preview(item["url"])')],
           says=['{"id": ..., "preview": "..."}']),
    Answer("6.6", "async def with await run_in_threadpool",
           edit=[("from fastapi import Depends,", "from fastapi.concurrency import run_in_threadpool\nfrom fastapi import Depends,"),
                 ("def preview(bookmark_id: int, db: DB):", "async def preview(bookmark_id: int, db: DB):"),
                 ('"preview": fetch_preview(item["url"])', '"preview": await run_in_threadpool(fetch_preview, item["url"])')],
           passes=True),
    # 6.7 a test with an overridden dependency
    Answer("6.7", "no override: the real database",
           edit=[("    app.dependency_overrides[get_db] = lambda: memory\n", "")],
           says=["no override of get_db"]),
    Answer("6.7", "the override is never cleared",
           edit=[("        app.dependency_overrides.clear()\n", "")],
           says=["still overridden: get_db"]),
    Answer("6.7", "a test that cannot fail",
           edit=[(TEST_BODY, '        assert client.get("/health").status_code == 200\n        return\n' + TEST_BODY)],
           says=["pytest to report a failure with a broken store"]),
    Answer("6.7", "the override opens the real file",
           edit=[("app.dependency_overrides[get_db] = lambda: memory", "app.dependency_overrides[get_db] = fastapi_store.connect")],
           says=["pytest: all passed"]),
    Answer("6.7", "the override set and cleared by a pytest fixture",
           edit=[('def test_create_and_read_back(monkeypatch):\n    # BEGIN SOLUTION\n'
                  '    monkeypatch.setenv("BOOKMARKS_API_KEY", "a-key-for-this-test-only")\n'
                  '    memory = sqlite3.connect(":memory:", check_same_thread=False)\n'
                  '    memory.row_factory = sqlite3.Row\n    memory.execute(fastapi_store.SCHEMA)\n'
                  '    app.dependency_overrides[get_db] = lambda: memory\n    try:\n        client = TestClient(app)\n',
                  'import pytest\n\n\n@pytest.fixture\ndef client(monkeypatch):\n'
                  '    monkeypatch.setenv("BOOKMARKS_API_KEY", "a-key-for-this-test-only")\n'
                  '    memory = sqlite3.connect(":memory:", check_same_thread=False)\n'
                  '    memory.row_factory = sqlite3.Row\n    memory.execute(fastapi_store.SCHEMA)\n'
                  '    app.dependency_overrides[get_db] = lambda: memory\n    yield TestClient(app)\n'
                  '    app.dependency_overrides.clear()\n    memory.close()\n\n\n'
                  'def test_create_and_read_back(client):\n    # BEGIN SOLUTION\n    if True:\n'),
                 ('        assert again.status_code == 200 and again.json() == created.json()\n    finally:\n'
                  '        app.dependency_overrides.clear()\n        memory.close()\n',
                  '        assert again.status_code == 200 and again.json() == created.json()\n')],
           passes=True),
    Answer("6.7", "only get_db's override removed, with pop",
           edit=[("app.dependency_overrides.clear()", "app.dependency_overrides.pop(get_db)")],
           passes=True),
]
