"""The course's one service contract (a bookmarks API and page), and a runner that checks it.

Every framework lab (Flask, FastAPI, aiohttp, Django) and the hand-written WSGI and ASGI versions
implement the same clauses; `run_contract(server, api_key)` talks real HTTP to a running server
and reports each clause that fails in words a student can act on. CLAUSES is the one place the
contract is written down: the lessons print it, the test suite and the lab checks read it.

The error format, decided against RFC 9457 (Problem Details for HTTP APIs). Every error answers
JSON {"error": CODE, "message": "words"}: CODE is one of ERROR_CODES, fixed by the status, and a 422
adds "field", the field at fault ("body" when the body is not an object). A 422 MAY add "errors", a
list of {"field": ..., "message": ...}, one per bad field, when a framework finds several at once
(Pydantic does); "field" is then the first of them. We keep this shape rather than answer RFC 9457's
application/problem+json: its members map one to one ("error" is a short "type", "message" is
"detail", "status" is the status line), a student writes ours by hand in four lines in every
framework, and the lab checks of every term so far read exactly "error", "message" and "field".
A server that answers application/problem+json with these members as well still passes: the
checks accept both media types, and ignore members they do not know.

A bookmark's url is an absolute http or https URL, checked when it is written, so a `javascript:`
or `data:` URL never reaches a page: autoescaping stops a title from becoming markup, but an
escaped `javascript:alert(1)` is still a live link in href="...". Every way in (the API, a form,
the admin) must check the scheme; Django's URLField does, for http, https, ftp and ftps.

A simplification, decided (issue 30): a write whose body comes with Transfer-Encoding: chunked and
no Content-Length need not be accepted. WSGI lets an app read only CONTENT_LENGTH bytes, so Django
(and the hand-written WSGI rows) never see such a body; those servers answer 400 (or 411 Length
Required) in the error shape, and store nothing. No clause sends a valid chunked body; a server
that accepts one (uvicorn and aiohttp do) passes as well. tests/test_django_chunked.py pins it.
"""
import html
import re
import secrets
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor, TimeoutError as StillRunning
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable
from urllib.parse import urljoin, urlsplit

import requests

from coursekit.explain import connection_problem
from coursekit.servers import REQUEST_SECONDS
from coursekit.urls import on_server

# The environment the service reads (12-factor: configuration from the environment, never the code).
ENV_DB = "BOOKMARKS_DB"            # path of the SQLite file
ENV_API_KEY = "BOOKMARKS_API_KEY"  # the key that writes must present as "Authorization: Bearer KEY"

STAGES = ("routes", "storage", "errors", "auth", "html")
MAX_BODY = 64 * 1024         # bytes; a larger request body answers 413
DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_OFFSET = 1_000_000       # a larger offset answers 422: the query stays a number SQLite can hold
MAX_URL, MAX_TITLE = 2000, 200   # characters
MAX_TAG, MAX_TAGS = 100, 20      # characters in a tag; tags on one bookmark
DEEP = 10_000                # a JSON body nested this deep answers 400 (a parser that recurses would crash)
PAGE_SIZE = 50               # GET / shows at most this many bookmarks, newest first
ROUNDS = 15                  # rounds of concurrent writes in storage.concurrent
HELD_ROUNDS = 3              # of those, rounds whose writes first wait behind the check's own lock
HOLD_SECONDS = 1.0           # how long the check holds it (the service's busy timeout is 5 s by default)
GIVE_UP_AFTER_TIMEOUTS = 2   # clauses in a row whose requests timed out before the rest are skipped

# The one error shape: {"error": CODE, "message": "words"} plus "field" on a 422.
ERROR_CODES = {
    400: "malformed_json",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_field",
}

ITEM_FIELDS = ("id", "url", "title", "tags")


@dataclass(frozen=True)
class Clause:
    """One promise of the contract: an id, its lab stage, what it says, and how to check it."""
    id: str
    stage: str
    description: str
    hint: str
    check: Callable = field(repr=False, compare=False)


class ClauseFailed(AssertionError):
    """A clause did not hold: what the contract expects and what the server did."""

    def __init__(self, expected, got):
        super().__init__(f"expected {expected}; got {got}")
        self.expected, self.got = expected, got


CLAUSES = []


def clause(id, stage, description, hint):
    """Register a check function as a clause of the contract (in the order written here)."""
    def register(function):
        assert stage in STAGES and id.startswith(stage + "."), id
        CLAUSES.append(Clause(id, stage, description, hint, function))
        return function
    return register


def clauses(stages=STAGES):
    """The clauses of the given stages, in contract order."""
    stages = (stages,) if isinstance(stages, str) else tuple(stages)
    unknown = set(stages) - set(STAGES)
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)}; the stages are {', '.join(STAGES)}")
    return [c for c in CLAUSES if c.stage in stages]


# ----------------------------------------------------------------------------------------------
# Talking to the server


class Probe:
    """What the clause checks use: the server's address, the key, and a few request helpers."""

    def __init__(self, base_url, api_key, db_path=None, restart=None, url_prefix=""):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.api_key, self.db_path, self.restart = api_key, db_path, restart
        self.url_prefix = url_prefix  # the proxy prefix the server puts in front of its links
        self.session = requests.Session()
        self.run_id = secrets.token_hex(3)  # unique tags and titles: the store need not be empty

    def url(self, path):
        return urljoin(self.base_url, path.lstrip("/"))

    def follow(self, link, answer):
        """The URL on the server that `link` (a Location or href in `answer`, a response or its URL)
        leads to, as JupyterHub's proxy would forward it (coursekit.urls.on_server). Every clause
        that follows a link does it through here."""
        return on_server(link, getattr(answer, "url", answer), self.url_prefix)

    def request(self, method, path, key=True, **kwargs):
        """One request with a deadline; `key=True` sends the right Bearer key, a str sends that."""
        headers = dict(kwargs.pop("headers", {}))
        if key is True:
            headers["Authorization"] = f"Bearer {self.api_key}"
        elif key:
            headers["Authorization"] = key
        return self.session.request(method, self.url(path), headers=headers,
                                    timeout=REQUEST_SECONDS, allow_redirects=False, **kwargs)

    def tag(self, name):
        return f"{name}-{self.run_id}"

    def at_once(self, calls):
        """Send (method, path, kwargs) requests together, one thread and connection each; their
        responses in order. A barrier releases them at the same moment, so they overlap."""
        start = threading.Barrier(len(calls))

        def send(call):
            method, path, kwargs = call
            with requests.Session() as session:
                prepared = session.prepare_request(requests.Request(
                    method, self.url(path), headers={"Authorization": f"Bearer {self.api_key}"}, **kwargs))
                start.wait(timeout=REQUEST_SECONDS)
                return session.send(prepared, timeout=REQUEST_SECONDS, allow_redirects=False)
        with ThreadPoolExecutor(len(calls)) as pool:
            return list(pool.map(send, calls))

    def at_once_held(self, calls):
        """at_once(calls) while the check holds SQLite's write lock on the service's file for up to
        HOLD_SECONDS: the service may read, but its writes wait. A PATCH that reads the row,
        changes it in Python and writes it all back then reads before the others write, so the
        lost update happens every time, not only when a busy machine's timing happens to allow it.
        A correct service only waits a little. Without the file (not SQLite), plain at_once."""
        if not self.db_path or not Path(self.db_path).is_file():
            return self.at_once(calls)
        with ThreadPoolExecutor(1) as pool, writes_held(self.db_path):
            answers = pool.submit(self.at_once, calls)
            try:
                return answers.result(timeout=HOLD_SECONDS)  # done already: the file is not its store
            except StillRunning:
                pass
        return answers.result()

    def create(self, title="Flask docs", url="https://flask.palletsprojects.com/", tags=()):
        """POST a bookmark with the right key and return the created item (or explain the failure)."""
        sent = {"url": url, "title": title, "tags": list(tags)}
        response = self.request("POST", "/api/bookmarks", json=sent)
        expect_status(response, 201, "POST /api/bookmarks with a valid bookmark and the right key")
        item = expect_json(response, "the created bookmark")
        expect_item(item, sent, "the body of the 201 answer")
        return item


@contextmanager
def writes_held(db_path):
    """Hold the write lock of a SQLite file (BEGIN IMMEDIATE): other connections still read, and
    their writes wait until the block ends."""
    db = sqlite3.connect(db_path, timeout=REQUEST_SECONDS, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        yield
    finally:
        db.close()  # closing ends the transaction: nothing was written


def describe(response):
    """A short account of a response: status, type, and the start of its body."""
    text = response.text.strip().replace("\n", " ")
    text = text if len(text) <= 160 else text[:160] + "..."
    kind = response.headers.get("Content-Type", "no Content-Type")
    return f"{response.status_code} ({kind}) {text!r}" if text else f"{response.status_code} ({kind}), empty body"


def expect_status(response, status, doing):
    if response.status_code == status:
        return
    if response.status_code == 500:
        raise ClauseFailed(f"{status} for {doing}",
                           "500 Internal Server Error: your code raised an exception (the server's "
                           "log shows where); the contract never answers 500")
    raise ClauseFailed(f"{status} for {doing}", describe(response))


def expect_json(response, what, kinds=("application/json",)):
    kind = response.headers.get("Content-Type", "")
    if not kind.startswith(kinds):
        raise ClauseFailed(f"{what} as JSON (Content-Type: application/json)",
                           f"Content-Type: {kind or '(none)'}")
    try:
        return response.json()
    except ValueError:
        raise ClauseFailed(f"{what} as valid JSON", repr(response.text[:120])) from None


def expect_item(item, sent, where):
    if not isinstance(item, dict) or not all(k in item for k in ITEM_FIELDS):
        raise ClauseFailed(f"{where}: an object with {', '.join(ITEM_FIELDS)}", repr(item)[:200])
    if not isinstance(item["id"], int) or isinstance(item["id"], bool):
        raise ClauseFailed(f"{where}: an integer id", repr(item["id"]))
    for key, value in sent.items():
        if item[key] != value:
            raise ClauseFailed(f"{where}: {key} = {value!r}", f"{key} = {item[key]!r}")


def expect_error(response, status, doing, field=None):
    """The contract's error: the status, JSON {"error": CODE, "message": ...}, and "field" on a 422."""
    expect_status(response, status, doing)
    body = expect_json(response, f"the {status} error", ("application/json", "application/problem+json"))
    code = ERROR_CODES[status]
    if not isinstance(body, dict) or body.get("error") != code or not isinstance(body.get("message"), str):
        raise ClauseFailed(f'the error shape {{"error": "{code}", "message": "..."}}', repr(body)[:200])
    if field is not None and body.get("field") != field:
        raise ClauseFailed(f'"field": "{field}" in the 422 error', f'"field": {body.get("field")!r}')
    if "errors" in body:  # optional: one entry per bad field, the first being "field"
        errors = body["errors"]
        if not (isinstance(errors, list) and errors and all(
                isinstance(e, dict) and isinstance(e.get("field"), str) and isinstance(e.get("message"), str)
                for e in errors) and errors[0]["field"] == body.get("field")):
            raise ClauseFailed('"errors": [{"field": ..., "message": ...}, ...], the first naming "field"',
                               f'"errors": {errors!r}'[:200])
    return body


def item_path(item):
    return f"/api/bookmarks/{item['id']}"


def listing(probe, query, doing):
    response = probe.request("GET", "/api/bookmarks", key=None, params=query)
    expect_status(response, 200, doing)
    body = expect_json(response, "the list")
    if not (isinstance(body, dict) and isinstance(body.get("items"), list)
            and isinstance(body.get("total"), int)):
        raise ClauseFailed('{"items": [...], "total": N}', repr(body)[:200])
    return body


class Links(HTMLParser):
    """The links of an HTML page: (href, text) pairs."""

    def __init__(self):
        super().__init__()
        self.links, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open = [dict(attrs).get("href") or "", ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open is not None:
            self.links.append((self._open[0], self._open[1].strip()))
            self._open = None


def page(probe, query=None, doing="GET /"):
    response = probe.request("GET", "/", key=None, params=query)
    expect_status(response, 200, doing)
    kind = response.headers.get("Content-Type", "")
    if not kind.startswith("text/html"):
        raise ClauseFailed("Content-Type: text/html", kind or "(none)")
    parser = Links()
    parser.feed(response.text)
    return response.text, parser.links


# ----------------------------------------------------------------------------------------------
# The clauses. Each check creates the data it needs (with unique tags), so clauses are independent
# and the store need not start empty.


@clause("routes.health", "routes", "GET /health answers 200 with JSON {\"status\": \"ok\"}",
        "Add a route for /health that returns a JSON object with status \"ok\".")
def health(probe):
    response = probe.request("GET", "/health", key=None)
    expect_status(response, 200, "GET /health")
    body = expect_json(response, "the health answer")
    if not isinstance(body, dict) or body.get("status") != "ok":
        raise ClauseFailed('{"status": "ok"}', repr(body)[:120])


@clause("routes.create", "routes",
        "POST /api/bookmarks with JSON url, title and tags answers 201 with the created item "
        "(id, url, title, tags); tags default to []",
        "Return the stored item (with its new integer id) as JSON with status 201.")
def create(probe):
    probe.create(tags=[probe.tag("docs")])
    response = probe.request("POST", "/api/bookmarks",
                             json={"url": "https://example.org/", "title": "No tags"})
    expect_status(response, 201, "POST /api/bookmarks without tags")
    expect_item(expect_json(response, "the created bookmark"), {"tags": []}, "a bookmark sent without tags")


@clause("routes.location", "routes",
        "the 201 answer has a Location header naming the new item, and GET on it answers that item",
        "Set the Location header of the 201 answer to /api/bookmarks/<id> (url_for builds it).")
def location(probe):
    response = probe.request("POST", "/api/bookmarks",
                             json={"url": "https://example.org/loc", "title": "Where am I?"})
    expect_status(response, 201, "POST /api/bookmarks")
    item = expect_json(response, "the created bookmark")
    where = response.headers.get("Location")
    if not where:
        raise ClauseFailed("a Location header on the 201 answer", "no Location header")
    target = probe.follow(where, response)
    if urlsplit(target).path.rstrip("/") != urlsplit(probe.url(item_path(item))).path:
        raise ClauseFailed(f"Location: {item_path(item)}", f"Location: {where}")
    got = probe.session.get(target, timeout=REQUEST_SECONDS)
    expect_status(got, 200, f"GET {where} (the Location)")
    expect_item(expect_json(got, "the item"), {"id": item["id"], "title": "Where am I?"}, f"GET {where}")


@clause("routes.get", "routes", "GET /api/bookmarks/<id> answers 200 with the item",
        "Look the item up by its id and return it as JSON.")
def get_one(probe):
    item = probe.create(title="Read me", tags=[probe.tag("get")])
    response = probe.request("GET", item_path(item), key=None)
    expect_status(response, 200, f"GET {item_path(item)}")
    expect_item(expect_json(response, "the item"), item, f"GET {item_path(item)}")


@clause("routes.list", "routes",
        "GET /api/bookmarks answers 200 {\"items\": [...], \"total\": N}, oldest first, with "
        f"limit (default {DEFAULT_LIMIT}, at most {MAX_LIMIT}) and offset; total counts every "
        "match, not just this page",
        "Return {\"items\": [...], \"total\": N}; read limit and offset from the query string "
        "and count the total with a separate query (SELECT COUNT(*)).")
def list_page(probe):
    tag = probe.tag("page")
    made = [probe.create(title=f"Page item {n}", url=f"https://example.org/{n}", tags=[tag])
            for n in range(3)]
    ids = [item["id"] for item in made]
    body = listing(probe, {"tag": tag}, "GET /api/bookmarks?tag=...")
    got = [item.get("id") for item in body["items"]]
    if got != ids:
        raise ClauseFailed(f"the 3 tagged items, oldest first: ids {ids}", f"ids {got}")
    first = listing(probe, {"tag": tag, "limit": 2}, "GET /api/bookmarks?limit=2")
    second = listing(probe, {"tag": tag, "limit": 2, "offset": 2}, "GET /api/bookmarks?limit=2&offset=2")
    pages = ([i.get("id") for i in first["items"]], [i.get("id") for i in second["items"]])
    if pages != (ids[:2], ids[2:]):
        raise ClauseFailed(f"limit=2 to give {ids[:2]}, then offset=2 to give {ids[2:]}",
                           f"{pages[0]}, then {pages[1]}")
    if (first["total"], second["total"]) != (3, 3):
        raise ClauseFailed("total 3 on both pages (every match, not the page's length)",
                           f"total {first['total']}, then {second['total']}")
    whole = listing(probe, {}, "GET /api/bookmarks")
    if len(whole["items"]) > DEFAULT_LIMIT or whole["total"] < 3:
        raise ClauseFailed(f"at most {DEFAULT_LIMIT} items by default and a total of at least 3",
                           f"{len(whole['items'])} items, total {whole['total']}")


@clause("routes.tag_filter", "routes",
        "GET /api/bookmarks?tag=T lists only the items tagged T, and total counts only those",
        "Filter on the tag in SQL (a tags table, or a LIKE on a stored list) and count the same way.")
def tag_filter(probe):
    wanted, other = probe.tag("wanted"), probe.tag("other")
    keep = probe.create(title="Tagged", tags=[wanted, other])
    probe.create(title="Not tagged", tags=[other])
    body = listing(probe, {"tag": wanted}, "GET /api/bookmarks?tag=...")
    got = [item.get("id") for item in body["items"]]
    if got != [keep["id"]] or body["total"] != 1:
        raise ClauseFailed(f"only item {keep['id']} and total 1", f"ids {got}, total {body['total']}")


@clause("routes.patch", "routes",
        "PATCH /api/bookmarks/<id> with some of url, title, tags changes only those and answers 200 "
        "with the whole item",
        "Update only the fields present in the JSON body, then return the whole item.")
def patch(probe):
    item = probe.create(title="Old title", tags=[probe.tag("patch")])
    response = probe.request("PATCH", item_path(item), json={"title": "New title"})
    expect_status(response, 200, f"PATCH {item_path(item)}")
    changed = dict(item, title="New title")
    expect_item(expect_json(response, "the updated item"), changed, "the PATCH answer")
    again = probe.request("GET", item_path(item), key=None)
    expect_status(again, 200, f"GET {item_path(item)} after the PATCH")
    expect_item(expect_json(again, "the item"), changed, "GET after the PATCH")


@clause("routes.delete", "routes",
        "DELETE /api/bookmarks/<id> answers 204 with an empty body; the item is gone afterwards",
        "Answer 204 with an empty body (return \"\", 204); a GET afterwards answers 404.")
def delete(probe):
    item = probe.create(title="Short-lived", tags=[probe.tag("delete")])
    response = probe.request("DELETE", item_path(item))
    expect_status(response, 204, f"DELETE {item_path(item)}")
    if response.content:
        raise ClauseFailed("an empty body with 204", repr(response.text[:80]))
    after = probe.request("GET", item_path(item), key=None)
    if after.status_code != 404:
        raise ClauseFailed(f"404 for GET {item_path(item)} after the DELETE", describe(after))


@clause("routes.head", "routes",
        "HEAD is answered wherever GET is (RFC 9110, 9.3.2): the same status and Content-Type, no body",
        "Most frameworks answer HEAD for every GET route; in FastAPI, add \"HEAD\" to the route's methods.")
def head(probe):
    item = probe.create(title="Heads up", tags=[probe.tag("head")])
    for path in ("/health", "/api/bookmarks", item_path(item), "/api/bookmarks/987654321"):
        got = probe.request("GET", path, key=None)
        response = probe.request("HEAD", path, key=None)
        expect_status(response, got.status_code, f"HEAD {path} (GET answers {got.status_code})")
        kind, wanted = response.headers.get("Content-Type", ""), got.headers.get("Content-Type", "")
        if kind.split(";")[0] != wanted.split(";")[0]:
            raise ClauseFailed(f"Content-Type: {wanted} for HEAD {path}, as for GET", f"Content-Type: {kind}")


@clause("storage.sqlite_file", "storage",
        f"bookmarks are stored in the SQLite file named by the {ENV_DB} environment variable",
        f"Open sqlite3.connect(os.environ['{ENV_DB}']), never a path written in the code.")
def sqlite_file(probe):
    probe.create(title="Stored", tags=[probe.tag("file")])
    if probe.db_path is None:
        raise ClauseFailed("the runner to know the database path (pass db_path=)", "no db_path")
    path = Path(probe.db_path)
    if not path.is_file():
        raise ClauseFailed(f"a database file at {ENV_DB} = {path}", "no file there")
    with open(path, "rb") as f:
        header = f.read(16)
    if header != b"SQLite format 3\x00":
        raise ClauseFailed(f"{path} to be an SQLite database", f"a file starting {header!r}")


@clause("storage.restart", "storage",
        "nothing is lost when the server restarts: created, changed and deleted items stay so",
        "Keep every bookmark in SQLite (no dict or list in memory) and commit after each write.")
def survives_restart(probe):
    tag = probe.tag("restart")
    kept = probe.create(title="Before restart", tags=[tag])
    changed = probe.create(title="Will change", tags=[tag])
    gone = probe.create(title="Will go", tags=[tag])
    expect_status(probe.request("PATCH", item_path(changed), json={"title": "Changed"}), 200, "PATCH")
    expect_status(probe.request("DELETE", item_path(gone)), 204, "DELETE")
    if probe.restart is None:
        raise ClauseFailed("a way to restart the server (pass restart=)", "none")
    restarted = probe.restart()
    probe.base_url = getattr(restarted, "url", restarted)
    probe.url_prefix = getattr(restarted, "url_prefix", "")  # a new port, so a new proxy path
    probe.session.close()
    probe.session = requests.Session()  # the old server's connections are gone
    body = listing(probe, {"tag": tag}, "GET /api/bookmarks?tag=... after a restart")
    titles = {item.get("id"): item.get("title") for item in body["items"]}
    wanted = {kept["id"]: "Before restart", changed["id"]: "Changed"}
    if titles != wanted:
        raise ClauseFailed(f"after the restart: {wanted}", f"{titles}")


@clause("storage.concurrent", "storage",
        "concurrent writes lose nothing: concurrent POSTs get distinct ids, concurrent PATCHes of "
        "different fields of one bookmark all take effect, and a PATCH racing a DELETE answers 200 "
        "or 404 and leaves the bookmark gone",
        "Change only the fields sent, in one statement (UPDATE bookmark SET title = COALESCE(?, title), "
        "...), never read the row, change it in Python and write all of it back: a PATCH between "
        "your read and your write is lost.")
def concurrent(probe):
    tag = probe.tag("together")
    made = probe.at_once([("POST", "/api/bookmarks",
                           {"json": {"url": f"https://example.org/c{n}", "title": f"Together {n}", "tags": [tag]}})
                          for n in range(10)])
    for response in made:
        expect_status(response, 201, "each of 10 POSTs sent at the same time")
    ids = [expect_json(r, "the created bookmark").get("id") for r in made]
    if len(set(ids)) != len(ids):
        raise ClauseFailed("10 distinct ids for 10 concurrent POSTs", f"ids {sorted(ids)}")
    lost = []
    for n in range(ROUNDS):
        item = probe.create(title="Before", url="https://example.org/before", tags=[tag])
        wanted = {"title": f"After {n}", "url": f"https://example.org/after/{n}", "tags": [tag, f"round-{n}"]}
        patches = [("PATCH", item_path(item), {"json": {name: value}}) for name, value in wanted.items()]
        answers = probe.at_once_held(patches) if n < HELD_ROUNDS else probe.at_once(patches)
        for response in answers:
            expect_status(response, 200, f"each of 3 PATCHes of {item_path(item)} sent at the same time")
        after = expect_json(probe.request("GET", item_path(item), key=None), "the item")
        kept = {name: after.get(name) for name in wanted}
        if kept != wanted:
            lost.append(kept)
    if lost:
        raise ClauseFailed(f"every change of 3 concurrent PATCHes (title, url, tags) kept, in {ROUNDS} rounds",
                           f"changes lost in {len(lost)} of {ROUNDS} rounds, e.g. the item ended as {lost[0]}")
    for n in range(5):
        item = probe.create(title="Racing", tags=[tag])
        patched, deleted = probe.at_once([("PATCH", item_path(item), {"json": {"title": "Raced"}}),
                                          ("DELETE", item_path(item), {})])
        if patched.status_code not in (200, 404):
            expect_status(patched, 200, "a PATCH sent at the same time as a DELETE (or 404)")
        expect_status(deleted, 204, "a DELETE sent at the same time as a PATCH")
        after = probe.request("GET", item_path(item), key=None)
        if after.status_code != 404:
            raise ClauseFailed(f"404 for GET {item_path(item)} after a PATCH raced its DELETE", describe(after))


NOT_JSON = [
    (b'{"url": "https://example.org/", "title": ', "cut-off JSON"),
    (b"", "an empty body"),
    (b'{"url": "https://example.org/", "title": "x", "tags": NaN}', "NaN, which JSON does not have"),
    (b'{"url": "https://example.org/", "title": "x", "tags": [Infinity]}', "Infinity, which JSON does not have"),
    (b'{"url": "https://example.org/", "title": "\\ud800"}', "a lone surrogate (\\ud800), which no text holds"),
    (b'{"url": "https://example.org/", "title": "x", "tags": ' + b"[" * DEEP + b"]" * DEEP + b"}",
     f"arrays nested {DEEP} deep"),
]


@clause("errors.malformed_json", "errors",
        "a body that is not JSON as RFC 8259 and I-JSON (RFC 7493) define it answers 400 with the "
        "error shape, never 500: cut off, empty, NaN or Infinity, a lone surrogate (\\ud800), or "
        f"nested {DEEP} deep",
        "Parse the body yourself: json.loads(body, parse_constant=...) refusing NaN and Infinity, "
        "then json.dumps(data, ensure_ascii=False).encode() to refuse lone surrogates; catch "
        "ValueError and RecursionError and answer 400 (in Flask: an errorhandler for 400 returns the JSON error).")
def malformed_json(probe):
    for body, what in NOT_JSON:
        response = probe.request("POST", "/api/bookmarks", data=body, headers={"Content-Type": "application/json"})
        expect_error(response, 400, f"a POST whose body is {what}")


@clause("errors.content_type", "errors",
        "a write whose Content-Type is not application/json answers 415 with the error shape; the "
        "media type is compared case-insensitively (Application/JSON is JSON)",
        "Check the Content-Type before parsing (Flask's request.get_json() raises 415) and "
        "return the JSON error.")
def content_type(probe):
    response = probe.request("POST", "/api/bookmarks", data=b'{"url": "https://example.org/", "title": "x"}',
                             headers={"Content-Type": "text/plain"})
    expect_error(response, 415, "a POST with Content-Type: text/plain")
    kind = "Application/JSON; Charset=UTF-8"  # media types are case-insensitive (RFC 9110, 8.3.1)
    response = probe.request("POST", "/api/bookmarks", data=b'{"url": "https://example.org/", "title": "x"}',
                             headers={"Content-Type": kind})
    expect_status(response, 201, f"a POST with Content-Type: {kind}")


@clause("errors.body_shape", "errors",
        "a JSON body that is not an object answers 422 naming \"body\"; a field the contract does not "
        "know (a typo such as \"titel\", or \"id\") answers 422 naming it, on POST and on PATCH",
        "Check isinstance(data, dict) first, then refuse every key that is not url, title or tags "
        "(in Pydantic: model_config = ConfigDict(extra=\"forbid\")).")
def body_shape(probe):
    item = probe.create(title="Shape", tags=[probe.tag("shape")])
    for body in ([], ["https://example.org/"], "https://example.org/", 42, None):
        for method, path in (("POST", "/api/bookmarks"), ("PATCH", item_path(item))):
            response = probe.request(method, path, json=body) if body is not None else probe.request(
                method, path, data=b"null", headers={"Content-Type": "application/json"})
            expect_error(response, 422, f"{method} {path} with the JSON body {body!r}".replace("None", "null"),
                         field="body")
    for sent, name in (({"url": "https://example.org/", "title": "x", "titel": "y"}, "titel"),
                       ({"url": "https://example.org/", "title": "x", "id": 7}, "id")):
        response = probe.request("POST", "/api/bookmarks", json=sent)
        expect_error(response, 422, f"a POST with the unknown field {name!r}", field=name)
    response = probe.request("PATCH", item_path(item), json={"titel": "Typo"})
    expect_error(response, 422, "a PATCH with the unknown field 'titel'", field="titel")


@clause("errors.missing_field", "errors",
        "a missing url or title answers 422 naming the field",
        "Validate before you store: a missing field is a 422 whose \"field\" names it.")
def missing_field(probe):
    for sent, name in (({"title": "No URL"}, "url"), ({"url": "https://example.org/"}, "title")):
        response = probe.request("POST", "/api/bookmarks", json=sent)
        expect_error(response, 422, f"a POST without {name}", field=name)


@clause("errors.wrong_type", "errors",
        "a wrong-typed field (title not a string, tags not a list of strings) answers 422 naming it",
        "Check the types: title is a str, tags a list of str; on PATCH too.")
def wrong_type(probe):
    cases = [({"url": "https://example.org/", "title": 42}, "title"),
             ({"url": "https://example.org/", "title": "x", "tags": "python"}, "tags"),
             ({"url": "https://example.org/", "title": "x", "tags": [1, 2]}, "tags")]
    for sent, name in cases:
        response = probe.request("POST", "/api/bookmarks", json=sent)
        expect_error(response, 422, f"a POST with {name} = {sent[name]!r}", field=name)
    item = probe.create(title="Patch me", tags=[probe.tag("types")])
    response = probe.request("PATCH", item_path(item), json={"title": ["not", "a", "string"]})
    expect_error(response, 422, "a PATCH with a list as title", field="title")


@clause("errors.patch_null", "errors",
        "null for url, title or tags on a PATCH answers 422 naming the field and changes nothing; "
        "an empty PATCH ({}) answers 200 with the item unchanged",
        "null is not \"leave it as it is\": refuse it (in Pydantic, give the field a default without "
        "allowing None: title: str = None). A field that is not sent is left as it is.")
def patch_null(probe):
    item = probe.create(title="Keep me", tags=[probe.tag("null")])
    for name in ("url", "title", "tags"):
        response = probe.request("PATCH", item_path(item), json={name: None})
        expect_error(response, 422, f"a PATCH with {name} = null", field=name)
    response = probe.request("PATCH", item_path(item), json={})
    expect_status(response, 200, f"an empty PATCH ({{}}) of {item_path(item)}")
    expect_item(expect_json(response, "the item"), item, "the answer to an empty PATCH")
    # A stored null would break every later read of the item and of the list.
    listing(probe, {"tag": item["tags"][0]}, "GET /api/bookmarks?tag=... after the refused PATCHes")
    expect_item(expect_json(probe.request("GET", item_path(item), key=None), "the item"), item,
                "the item after the refused PATCHes")


@clause("errors.field_values", "errors",
        f"a blank title (only spaces), a title over {MAX_TITLE} characters, a url over {MAX_URL}, a tag "
        f"that is blank or over {MAX_TAG}, or over {MAX_TAGS} tags answer 422 naming the field; a tag sent "
        "twice is stored once",
        "Check lengths with len() and blanks with .strip(); keep the first of each tag in order "
        "(list(dict.fromkeys(tags))).")
def field_values(probe):
    tag = probe.tag("values")
    long_url = "https://example.org/" + "a" * MAX_URL
    cases = [({"title": "   "}, "title", "a title of spaces"),
             ({"title": "\t\n"}, "title", "a title of a tab and a newline"),
             ({"title": "x" * (MAX_TITLE + 1)}, "title", f"a title of {MAX_TITLE + 1} characters"),
             ({"url": long_url}, "url", f"a url of {len(long_url)} characters"),
             ({"tags": [""]}, "tags", "an empty tag"),
             ({"tags": ["  "]}, "tags", "a tag of spaces"),
             ({"tags": ["t" * (MAX_TAG + 1)]}, "tags", f"a tag of {MAX_TAG + 1} characters"),
             ({"tags": [f"t{n}" for n in range(MAX_TAGS + 1)]}, "tags", f"{MAX_TAGS + 1} tags")]
    item = probe.create(title="Values", tags=[tag])
    for change, name, what in cases:
        sent = {"url": "https://example.org/", "title": "x", **change}
        expect_error(probe.request("POST", "/api/bookmarks", json=sent), 422, f"a POST with {what}", field=name)
        expect_error(probe.request("PATCH", item_path(item), json=change), 422, f"a PATCH with {what}",
                     field=name)
    probe.create(title="x" * MAX_TITLE, url="https://example.org/" + "a" * (MAX_URL - 20),
                 tags=["t" * MAX_TAG] + [f"{tag}-{n}" for n in range(MAX_TAGS - 1)])
    twice = probe.tag("twice")
    response = probe.request("POST", "/api/bookmarks",
                             json={"url": "https://example.org/", "title": "Twice", "tags": [twice, tag, twice]})
    expect_status(response, 201, "a POST with a tag sent twice")
    made = expect_json(response, "the created bookmark")
    expect_item(made, {"tags": [twice, tag]}, "a bookmark sent with tags [T, U, T]")
    body = listing(probe, {"tag": twice}, "GET /api/bookmarks?tag=T")
    if [i.get("id") for i in body["items"]] != [made["id"]] or body["total"] != 1:
        raise ClauseFailed("the bookmark listed once under its tag, total 1",
                           f"ids {[i.get('id') for i in body['items']]}, total {body['total']}")


@clause("errors.invalid_url", "errors",
        "a url that is not an absolute http(s) URL (e.g. 'not a url', 'javascript:...') answers 422 "
        "naming url",
        "Accept only http and https URLs with a host: urllib.parse.urlsplit gives scheme and netloc.")
def invalid_url(probe):
    for bad in ("not a url", "javascript:alert(1)", "ftp://example.org/file", "http://", "http://[::1",
                "https://[example.org]/", " javascript:alert(1)"):
        response = probe.request("POST", "/api/bookmarks", json={"url": bad, "title": "Bad"})
        expect_error(response, 422, f"a POST with url {bad!r}", field="url")


@clause("errors.query", "errors",
        f"a limit or offset that is not a whole number in ASCII digits in range (limit 1-{MAX_LIMIT}, "
        f"offset 0-{MAX_OFFSET}) answers 422 naming it",
        "Parse limit and offset yourself: re.fullmatch(\"[0-9]+\", raw), since str.isdigit() says yes "
        "to '²' (which int() refuses) and to '١٠' (which int() reads as 10); then check the range.")
def bad_query(probe):
    for query, name in (({"limit": "ten"}, "limit"), ({"limit": MAX_LIMIT + 1}, "limit"),
                        ({"limit": 0}, "limit"), ({"offset": -1}, "offset"), ({"limit": ""}, "limit"),
                        ({"limit": "²"}, "limit"), ({"limit": "١٠"}, "limit"), ({"limit": "5.0"}, "limit"),
                        ({"offset": MAX_OFFSET + 1}, "offset"), ({"offset": "9" * 20}, "offset"),
                        ({"offset": "³"}, "offset")):
        response = probe.request("GET", "/api/bookmarks", key=None, params=query)
        expect_error(response, 422, f"GET /api/bookmarks?{name}={query[name]}", field=name)


@clause("errors.not_found", "errors",
        "an unknown id (GET, PATCH, DELETE), an id that is not a whole number or is too large to be one, "
        "or an unknown path answers 404 with the error shape",
        "Register a 404 error handler that returns the JSON error, and answer 404 when the id "
        "is not in the database.")
def not_found(probe):
    for missing in ("/api/bookmarks/987654321", "/api/bookmarks/" + "9" * 20, "/api/bookmarks/abc",
                    "/api/bookmarks/%C2%B2", "/api/bookmarks/-1"):
        for method, kwargs in (("GET", {"key": None}), ("PATCH", {"json": {"title": "x"}}), ("DELETE", {})):
            expect_error(probe.request(method, missing, **kwargs), 404, f"{method} {missing}")
    expect_error(probe.request("GET", "/no/such/page", key=None), 404, "GET /no/such/page")


@clause("errors.method", "errors",
        "a method a path does not allow answers 405 with an Allow header and the error shape",
        "A 405 handler that returns JSON must keep the Allow header (in Flask: error.valid_methods).")
def wrong_method(probe):
    response = probe.request("PUT", "/api/bookmarks", json={"url": "https://example.org/", "title": "x"})
    expect_error(response, 405, "PUT /api/bookmarks")
    allow = {m.strip().upper() for m in response.headers.get("Allow", "").split(",") if m.strip()}
    if not {"GET", "POST"} <= allow:
        raise ClauseFailed("Allow: GET, POST (at least)", f"Allow: {response.headers.get('Allow', '(none)')}")


@clause("errors.too_large", "errors",
        f"a request body over {MAX_BODY} bytes answers 413 with the error shape",
        "Limit the body size (in Flask: MAX_CONTENT_LENGTH) and return the JSON error for 413.")
def too_large(probe):
    title = "x" * (MAX_BODY + 1000)
    response = probe.request("POST", "/api/bookmarks", json={"url": "https://example.org/", "title": title})
    expect_error(response, 413, f"a POST of {MAX_BODY + 1000 + 50} bytes or so")


@clause("auth.missing_key", "auth",
        "a write without an Authorization header answers 401 with WWW-Authenticate: Bearer and "
        "changes nothing",
        f"Read the key from the {ENV_API_KEY} environment variable; on a missing header answer "
        "401 with the header WWW-Authenticate: Bearer.")
def missing_key(probe):
    tag = probe.tag("nokey")
    item = probe.create(title="Guarded", tags=[tag])
    attempts = [("POST", "/api/bookmarks", {"json": {"url": "https://example.org/", "title": "x", "tags": [tag]}}),
                ("PATCH", item_path(item), {"json": {"title": "Taken over"}}),
                ("DELETE", item_path(item), {})]
    for method, path, kwargs in attempts:
        expect_challenge(probe.request(method, path, key=None, **kwargs), f"{method} {path} without a key")
    body = listing(probe, {"tag": tag}, "GET /api/bookmarks?tag=...")
    if [(i.get("id"), i.get("title")) for i in body["items"]] != [(item["id"], "Guarded")]:
        raise ClauseFailed("nothing changed by the refused writes", repr(body["items"])[:200])


def expect_challenge(response, doing):
    """A 401 in the error shape that says how to authenticate (RFC 9110, 15.5.2: WWW-Authenticate)."""
    expect_error(response, 401, doing)
    challenge = response.headers.get("WWW-Authenticate", "")
    if not challenge.lower().startswith("bearer"):
        raise ClauseFailed(f"WWW-Authenticate: Bearer on the 401 for {doing}",
                           f"WWW-Authenticate: {challenge or '(none)'}")


@clause("auth.wrong_key", "auth",
        "a write with a wrong key (or not a Bearer one, or one that is not even text) answers 401 with "
        "WWW-Authenticate: Bearer and changes nothing",
        "Compare the presented key with hmac.compare_digest, after checking the scheme is Bearer; "
        "every 401 carries the WWW-Authenticate header.")
def wrong_key(probe):
    tag = probe.tag("badkey")
    wrong = [f"Bearer {probe.api_key}x", f"Bearer {probe.api_key[:-1]}", f"Basic {probe.api_key}",
             probe.api_key, "Bearer ", "Bearer \xe9t\xe9".encode("latin-1"), b"Bearer \xff\xfe\xfd"]
    for header in wrong:
        response = probe.request("POST", "/api/bookmarks", key=header,
                                 json={"url": "https://example.org/", "title": "x", "tags": [tag]})
        shown = header.replace(probe.api_key, "<key>") if isinstance(header, str) else header
        expect_challenge(response, f"POST with Authorization: {shown!r}")
    if listing(probe, {"tag": tag}, "GET /api/bookmarks?tag=...")["total"] != 0:
        raise ClauseFailed("no bookmark created by a refused write", "one was stored")


@clause("auth.scheme_case", "auth",
        "the scheme is case-insensitive (RFC 9110, 11.1): 'bearer KEY' and 'BEARER KEY' are accepted",
        "Compare scheme.lower() == \"bearer\"; only the key itself is compared exactly.")
def scheme_case(probe):
    for scheme in ("bearer", "BEARER", "BeArEr"):
        response = probe.request("POST", "/api/bookmarks", key=f"{scheme} {probe.api_key}",
                                 json={"url": "https://example.org/", "title": f"Scheme {scheme}"})
        expect_status(response, 201, f"a POST with Authorization: {scheme} <key>")


@clause("auth.key_first", "auth",
        "the key is checked before the body is read: a write without the key answers 401 whatever "
        "its body (not JSON, not a JSON type, invalid); a write to a path that does not exist "
        "answers 404, with or without a key",
        "Check the key before parsing or validating the body (in FastAPI the body is read before any "
        "dependency runs), and only for a path that exists (in aiohttp, a middleware runs for "
        "unknown paths too: look at request.match_info.http_exception).")
def key_first(probe):
    item = probe.create(title="Guarded body", tags=[probe.tag("first")])
    attempts = [("POST", "/api/bookmarks", {"data": b'{"url": ', "headers": {"Content-Type": "application/json"}},
                 "cut-off JSON"),
                ("POST", "/api/bookmarks", {"data": b"hello", "headers": {"Content-Type": "text/plain"}},
                 "a text/plain body"),
                ("POST", "/api/bookmarks", {"json": {"title": 42}}, "an invalid bookmark"),
                ("PATCH", item_path(item), {"json": {"title": None}}, "an invalid change"),
                ("PATCH", item_path(item), {"data": b"", "headers": {"Content-Type": "application/json"}},
                 "an empty body")]
    for method, path, kwargs, what in attempts:
        expect_challenge(probe.request(method, path, key=None, **kwargs), f"{method} {path} without a key, with {what}")
    for key in (None, True):
        for method in ("POST", "PATCH", "DELETE"):
            response = probe.request(method, "/api/no-such-thing", key=key, json={"title": "x"})
            expect_error(response, 404, f"{method} /api/no-such-thing {'with' if key else 'without'} a key")


@clause("auth.reads_open", "auth", "reads (GET) need no key",
        "Require the key on POST, PATCH and DELETE only.")
def reads_open(probe):
    item = probe.create(title="Public", tags=[probe.tag("public")])
    for path in ("/api/bookmarks", item_path(item), "/health"):
        response = probe.request("GET", path, key=None)
        expect_status(response, 200, f"GET {path} without a key")


@clause("html.page", "html",
        f"GET / answers an HTML page (text/html) rendered from a template, listing the newest "
        f"{PAGE_SIZE} bookmarks, each title a link to its url",
        "Render a template with the bookmarks; each one an <a href=\"{{ b.url }}\">{{ b.title }}</a>; "
        "HEAD / is answered too.")
def html_page(probe):
    title = f"Visible {probe.run_id}"
    item = probe.create(title=title, url=f"https://example.org/{probe.run_id}", tags=[probe.tag("page")])
    text, links = page(probe)
    if (item["url"], title) not in links:
        raise ClauseFailed(f'a link <a href="{item["url"]}">{title}</a> on the page',
                           f"{len(links)} links, none of them that one")
    response = probe.request("HEAD", "/", key=None)
    expect_status(response, 200, "HEAD / (answered wherever GET is)")


@clause("html.nosniff", "html",
        "every answer (the page, JSON, errors) carries X-Content-Type-Options: nosniff, so no browser "
        "guesses a type other than the one sent",
        "Add the header to every response in one place: an after_request function (Flask), a "
        "middleware (FastAPI, Django's SecurityMiddleware does it), on_response_prepare (aiohttp).")
def nosniff(probe):
    for method, path, key in (("GET", "/", None), ("GET", "/api/bookmarks", None), ("GET", "/health", None),
                              ("GET", "/api/bookmarks/987654321", None), ("POST", "/api/bookmarks", None)):
        response = probe.request(method, path, key=key, json={} if method == "POST" else None)
        if response.headers.get("X-Content-Type-Options", "").lower() != "nosniff":
            raise ClauseFailed(f"X-Content-Type-Options: nosniff on the {response.status_code} for {method} {path}",
                               f"X-Content-Type-Options: {response.headers.get('X-Content-Type-Options', '(none)')}")


@clause("html.escaped", "html",
        "titles are escaped in the page: a title with <script> shows as text and never runs",
        "Let Jinja2's autoescaping do it: render a .html template and never mark titles |safe.")
def escaped(probe):
    marker = probe.run_id
    title = f'<script>document.title="owned {marker}"</script><b>{marker}</b>'
    probe.create(title=title, tags=[probe.tag("xss")])
    text, _ = page(probe)
    if f'<script>document.title="owned {marker}"' in text or f"<b>{marker}</b>" in text:
        raise ClauseFailed("the title escaped (&lt;script&gt;...)", "it is in the page as raw HTML")
    if html.escape(title, quote=False) not in text.replace("&#34;", '"').replace("&#39;", "'").replace("&quot;", '"'):
        raise ClauseFailed("the title on the page as escaped text", "it is not on the page at all")


@clause("html.tag_links", "html",
        "each tag on the page links to the page filtered by it (?tag=T), which lists only those items",
        "Link each tag to url_for('...index', tag=tag), and filter in the page's view when ?tag= is given.")
def tag_links(probe):
    tag = probe.tag("linked")
    shown = probe.create(title=f"Tagged {probe.run_id}", url="https://example.org/t", tags=[tag])
    hidden = probe.create(title=f"Untagged {probe.run_id}", url="https://example.org/u",
                          tags=[probe.tag("else")])
    _, links = page(probe)
    targets = [href for href, _ in links if re.search(r"[?&]tag=" + re.escape(tag) + r"(&|$)", href)]
    if not targets:
        raise ClauseFailed(f'a link to "?tag={tag}" on the page', "none")
    response = probe.session.get(probe.follow(targets[0], probe.url("/")), timeout=REQUEST_SECONDS)
    expect_status(response, 200, f"following the link {targets[0]}")
    parser = Links()
    parser.feed(response.text)
    titles = {text for _, text in parser.links}
    if shown["title"] not in titles or hidden["title"] in titles:
        raise ClauseFailed(f"the filtered page to list {shown['title']!r} and not {hidden['title']!r}",
                           "listed " + ("both" if hidden["title"] in titles else "neither"))


# ----------------------------------------------------------------------------------------------
# The runner


@dataclass
class Outcome:
    clause: Clause
    passed: bool
    expected: str = ""
    got: str = ""
    raised: BaseException = None


@dataclass
class Report:
    """What run_contract found: one Outcome per clause, in order; str() is the student's report."""
    outcomes: list

    @property
    def failed(self):
        return [o for o in self.outcomes if not o.passed]

    @property
    def passed(self):
        return not self.failed

    def __str__(self):
        lines = []
        for o in self.outcomes:
            lines.append(f"{'✔' if o.passed else '✘'} {o.clause.id}: {o.clause.description}")
            if not o.passed:
                lines += [f"    expected: {o.expected}", f"    got:      {o.got}",
                          f"    hint: {o.clause.hint}"]
        lines.append(f"{len(self.outcomes) - len(self.failed)} of {len(self.outcomes)} clauses hold.")
        return "\n".join(lines)


def run_contract(target, api_key: str, stages=STAGES, db_path=None, restart=None) -> Report:
    """Check the clauses of `stages` against a running server (a launch() handle or a base URL).

    restart: a callable that restarts the server and returns its new handle or URL (the
    storage stage needs it); db_path: the file the server was given in BOOKMARKS_DB.
    """
    probe = Probe(getattr(target, "url", target), api_key, db_path, restart,
                  getattr(target, "url_prefix", ""))
    outcomes, timeouts = [], 0
    try:
        for c in clauses(stages):
            if timeouts >= GIVE_UP_AFTER_TIMEOUTS:  # a stuck server: say so rather than wait on
                outcomes.append(Outcome(c, False, "an answer from the server",
                                        "not tried: the server stopped answering in time"))
                continue
            outcomes.append(run_clause(c, probe))
            timed_out = isinstance(outcomes[-1].raised, requests.Timeout)
            timeouts = timeouts + 1 if timed_out else 0
    finally:
        probe.session.close()
    return Report(outcomes)


def run_clause(c, probe):
    """One clause's Outcome; a failure is explained in words, never raised."""
    try:
        c.check(probe)
        return Outcome(c, True)
    except ClauseFailed as failed:
        return Outcome(c, False, failed.expected, failed.got)
    except (requests.RequestException, OSError) as error:
        return Outcome(c, False, "an answer from the server", connection_problem(error), error)
    except Exception as error:  # a restart= callable raised, say: report it, keep going
        return Outcome(c, False, "the clause to run to its end", f"{type(error).__name__}: {error}", error)
