"""Lab 06, the bookmarks contract in FastAPI: each exercise runs one stage of coursekit.contract against
the student's app under uvicorn, plus FastAPI's own strengths: a response model that hides a field, a
session dependency that closes, a slow call that stalls nobody, and a test with an overridden dependency."""
import ast
import re
import threading
import time
from pathlib import Path

from coursekit.checks import exercise
from coursekit.contract import ENV_API_KEY, ENV_DB
from coursekit.labs import contract_checks as shared
from coursekit.labs.contract_checks import function_in, source_of

APP = "apps/fastapi_bookmarks.py"
COUNTED = "apps/lab06_counted_app.py"
STUDENT_TEST = "apps/test_fastapi_bookmarks.py"
HIDDEN = "added_from"
NOT_KEYS = {"Authorization", ENV_API_KEY, "Bearer", "bookmarks", "realm", "WWW-Authenticate"}
PREVIEW_SECONDS = 1.0  # fetch_preview, given in the lab, sleeps this long
PREVIEW_TRIES = 3  # a preview so slow (a busy host) that it proves nothing is asked again
TEST_SECONDS = shared.TEST_SECONDS

# The student's app with every sqlite3 connection counted, served at a path of its own.
COUNTED_SOURCE = '''"""Written by lab 06's check 6.2: your app, with every sqlite3 connection it opens and closes counted."""
import json
import sqlite3
import threading

counts = {"opened": 0, "closed": 0}
lock = threading.Lock()
real_connect = sqlite3.connect


class CountedConnection(sqlite3.Connection):
    def close(self):
        with lock:
            if not getattr(self, "counted_closed", False):
                self.counted_closed = True
                counts["closed"] += 1
        super().close()


def counted_connect(*args, **kwargs):
    kwargs.setdefault("factory", CountedConnection)
    connection = real_connect(*args, **kwargs)
    with lock:
        counts["opened"] += 1
    return connection


sqlite3.connect = counted_connect
from fastapi_bookmarks import app as student_app  # noqa: E402  (after the patch, on purpose)


async def app(scope, receive, send):
    if scope["type"] == "http" and scope["path"].endswith("/lab06-connections"):
        with lock:
            body = json.dumps(counts).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    await student_app(scope, receive, send)
'''

# A pytest plugin for check 6.7: optionally breaks the store, and reports overrides left behind.
PLUGIN_SOURCE = '''"""Written by lab 06's check 6.7."""
import json
import os
import sys


def pytest_configure(config):
    if os.environ.get("LAB06_BREAK_STORE"):
        import fastapi_store
        fastapi_store.get_bookmark = lambda db, bookmark_id: None  # a store that loses everything


def pytest_sessionfinish(session, exitstatus):
    module = sys.modules.get("fastapi_bookmarks")
    left = [getattr(k, "__name__", repr(k)) for k in module.app.dependency_overrides] if module else []
    with open(os.environ["LAB06_REPORT"], "w") as f:
        json.dump({"imported": module is not None, "left": left}, f)
'''


def serve(t, path=APP):
    """The student's app under uvicorn on a fresh database and a fresh random key."""
    return shared.serve(t, path, "uvicorn")


def contract_stage(t, stage, served=None):
    shared.contract_stage(t, stage, served or serve(t))


def write(server, key, method, path, **kwargs):
    return server.request(method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs)


def require_key():
    return function_in(APP, "require_key")


@exercise("6.1")
def routes_and_models(t):
    served = serve(t)
    server, key = served[0], served[1]
    with t.part(f"no answer shows {HIDDEN} (the response models leave it out)",
                hint=f"Give every route a response model (Bookmark, Page) that does not declare {HIDDEN}; "
                     "FastAPI then drops it from whatever the function returns."):
        created = write(server, key, "POST", "/api/bookmarks",
                        json={"url": "https://example.org/private", "title": "Private", "tags": ["p"]})
        t.expect(created.status_code == 201, "201 from POST /api/bookmarks", f"{created.status_code}")
        where = f"/api/bookmarks/{created.json()['id']}"
        answers = {"POST /api/bookmarks": created, f"GET {where}": server.get(where),
                   "GET /api/bookmarks": server.get("/api/bookmarks"),
                   f"PATCH {where}": write(server, key, "PATCH", where, json={"title": "Still private"})}
        leaks = [name for name, response in answers.items() if HIDDEN in response.text]
        t.expect(not leaks, f"no {HIDDEN} in any answer", f"{HIDDEN} in the answer to {', '.join(leaks)}")
    contract_stage(t, "routes", served)


def connection_counts(server):
    return server.get("/lab06-connections").json()


@exercise("6.2")
def storage_and_session(t):
    Path(COUNTED).write_text(COUNTED_SOURCE)
    counted = serve(t, COUNTED)
    server, key = counted[0], counted[1]
    with t.part("every request's session is closed when the request is done",
                hint="Write get_db with yield: db = connect(); try: yield db; finally: db.close(). "
                     "A `with sqlite3.connect(...)` block commits but does not close."):
        created = write(server, key, "POST", "/api/bookmarks", json={"url": "https://example.org/", "title": "S"})
        t.expect(created.status_code == 201, "201 from POST /api/bookmarks",
                 f"{created.status_code}: {created.text[:200]}")
        where = f"/api/bookmarks/{created.json()['id']}"
        for response in (server.get(where), server.get("/api/bookmarks"),
                         write(server, key, "PATCH", where, json={"title": "T"})):
            t.expect(response.status_code == 200, "200 from each request", f"{response.status_code}")
        deadline = time.monotonic() + 3  # a yield dependency may close just after the answer went out
        counts = connection_counts(server)
        while counts["closed"] < counts["opened"] and time.monotonic() < deadline:
            time.sleep(0.05)
            counts = connection_counts(server)
        t.expect(counts["opened"] >= 4, "a connection for each of the 4 requests",
                 f"{counts['opened']} opened: share nothing between requests, open one per request")
        t.expect(counts["closed"] == counts["opened"], f"all {counts['opened']} connections closed",
                 f"{counts['opened'] - counts['closed']} of {counts['opened']} still open after the requests")
    contract_stage(t, "storage")


@exercise("6.3")
def errors(t):
    contract_stage(t, "errors")


@exercise("6.4")
def auth(t):
    shared.key_compared_safely(t, require_key, r"key|KEY|presented|expected|token")
    shared.no_key_in_code(t, require_key, NOT_KEYS, f"no key is written in the code: it comes from {ENV_API_KEY}",
                          hint=f"Read the key with os.environ.get('{ENV_API_KEY}', ''); a key in the code "
                               "ends up in git and in every copy.")
    contract_stage(t, "auth")


@exercise("6.5")
def html_page(t):
    with t.part("no title is marked |safe (that would turn autoescaping off)",
                hint="Leave {{ b.title }} as it is: Jinja2Templates escapes it for you."):
        template = source_of("apps/templates/fastapi_index.html")
        t.expect(not re.search(r"\|\s*safe|autoescape\s+false", template),
                 "autoescaped output", "autoescaping turned off for some value")
    contract_stage(t, "html")


@exercise("6.6")
def preview_without_stall(t):
    server, key, _, _ = serve(t)
    with t.part("GET /api/bookmarks/<id>/preview answers 200 {\"id\": ..., \"preview\": ...}, and 404 for "
                "an unknown id", hint="Look the bookmark up, then return {\"id\": ..., \"preview\": "
                                      "fetch_preview(item[\"url\"])}; raise HTTPException(404) when it is missing."):
        created = write(server, key, "POST", "/api/bookmarks", json={"url": "https://example.org/", "title": "P"})
        t.expect(created.status_code == 201, "201 from POST /api/bookmarks", f"{created.status_code}")
        where = f"/api/bookmarks/{created.json()['id']}/preview"
        for _ in range(PREVIEW_TRIES):
            response, overlapped, decided = preview_beside_health(server, where)
            if decided or response is None or response.status_code != 200:
                break
        t.expect(response is not None and response.status_code == 200, f"200 from GET {where}",
                 f"{getattr(response, 'status_code', 'no answer')}: {getattr(response, 'text', '')[:200]}")
        body = response.json()
        t.expect(isinstance(body, dict) and body.get("id") == created.json()["id"]
                 and isinstance(body.get("preview"), str), '{"id": ..., "preview": "..."}', repr(body)[:200])
        missing = server.get("/api/bookmarks/987654321/preview")
        t.expect(missing.status_code == 404, "404 for an unknown id", f"{missing.status_code}")
    with t.part("an id too large for SQLite's INTEGER gets 404 from the preview too, not 500",
                hint="Write the path as the other routes do, /api/bookmarks/{bookmark_id:bookmark_id}/preview: "
                     "the bookmark_id convertor takes 1 to 18 digits, so a longer id matches no route. A plain "
                     "int reaches SQLite, which raises OverflowError."):
        huge = server.get(f"/api/bookmarks/{'9' * 24}/preview")
        t.expect(huge.status_code == 404, f"404 for GET /api/bookmarks/{'9' * 24}/preview",
                 f"{huge.status_code}: {huge.text[:120]}")
    with t.part("other requests are not stalled while a preview runs",
                hint="fetch_preview blocks. Called in an `async def` endpoint it blocks the event loop, and "
                     "every other request waits. Make the endpoint a plain `def` (FastAPI runs it in its "
                     "thread pool), or call it with `await run_in_threadpool(fetch_preview, url)`."):
        t.expect(decided, "a preview answered quickly enough to tell",
                 f"each of {PREVIEW_TRIES} previews took more than {2 * PREVIEW_SECONDS:g} s; is the machine "
                 "very busy? Run the check again")
        t.expect(overlapped, "/health answered while fetch_preview was sleeping",
                 "every /health waited until the preview was done")


def preview_beside_health(server, where):
    """Ask for a preview, and meanwhile ask /health again and again. Returns (the preview's response,
    whether a /health was answered while fetch_preview surely slept, whether the run could tell).

    Timing only bounds the window, never decides: fetch_preview sleeps at least PREVIEW_SECONDS
    between the moment the preview was sent and the moment its answer arrived. So it surely slept
    from (answer - PREVIEW_SECONDS) until (sent + PREVIEW_SECONDS), and a /health sent and answered
    inside that window was served beside it. A blocked event loop never does that, however busy
    the host; a preview slower than 2 * PREVIEW_SECONDS leaves no window, and the run cannot tell."""
    health, answer = [], {}

    def ask_preview():
        answer["sent"] = time.monotonic()
        answer["response"] = server.get(where, timeout=PREVIEW_SECONDS + 20)
        answer["answered"] = time.monotonic()

    asking = threading.Thread(target=ask_preview)
    asking.start()
    while asking.is_alive():
        sent = time.monotonic()
        server.get("/health", timeout=PREVIEW_SECONDS + 20)
        health.append((sent, time.monotonic()))
        asking.join(0.02)
    response = answer.get("response")
    if response is None:
        return None, False, True
    surely_from = answer["answered"] - PREVIEW_SECONDS
    surely_until = answer["sent"] + PREVIEW_SECONDS
    overlapped = any(surely_from <= sent and answered <= surely_until for sent, answered in health)
    decided = overlapped or surely_until - surely_from > PREVIEW_SECONDS / 2  # room for a few /health
    return response, overlapped, decided


@exercise("6.7")
def test_with_override(t):
    run_pytest = shared.student_pytest(t, "lab06", PLUGIN_SOURCE, STUDENT_TEST, missing={"imported": False, "left": []})

    with t.part(f"{STUDENT_TEST} overrides get_db and asserts something",
                hint="In the test (or a fixture it uses), map get_db in app.dependency_overrides to a function that returns your "
                     "in-memory connection, and assert on the answers (status, body)."):
        tree = ast.parse(source_of(STUDENT_TEST))
        tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
        t.expect(tests, "a function test_...()", "none")
        # In a test or in a fixture it uses: the runs below judge whether it takes effect.
        t.expect(re.search(r"dependency_overrides\s*\[\s*get_db\s*\]", ast.unparse(tree)),
                 "app.dependency_overrides[get_db] = ... in a test or a fixture", "no override of get_db")
        t.expect(any(isinstance(n, ast.Assert) for test in tests for n in ast.walk(test)),
                 "an assert in the test", "no assert")
    with t.part(f"your test passes, with {ENV_DB} pointing at a file that cannot be opened",
                hint="Only the overridden get_db may touch a database; the real one cannot open that file. "
                     "Read pytest's output below the summary.", seconds=TEST_SECONDS + 5):
        code, summary, output, found = run_pytest()
        t.expect(code == 0 and "passed" in summary, "pytest: all passed", f"pytest: {summary}\n{output}")
    with t.part("your test leaves no override behind (clear them in a finally)",
                hint="Empty app.dependency_overrides (its clear method) in a finally: block, or the next "
                     "test runs with your in-memory database without knowing it."):
        t.expect(found["imported"] and not found["left"], "app.dependency_overrides empty after the tests",
                 f"still overridden: {', '.join(found['left'])}" if found["left"] else "the app was not imported")
    with t.part("your test fails when the store loses what it stores",
                hint="Create a bookmark and read it back (GET its Location), asserting the status and the "
                     "body: a test that cannot fail proves nothing.", seconds=TEST_SECONDS + 5):
        code, summary, _, _ = run_pytest(LAB06_BREAK_STORE="1")
        t.expect(code != 0, "pytest to report a failure with a broken store", f"pytest: {summary}")
