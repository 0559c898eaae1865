"""The bookmarks contract without a framework: SQLite storage, validation, routing, one error shape.

`handle(method, path, query, headers, body)` returns (status, headers, body bytes); the WSGI and
ASGI files beside this one only translate their protocol to and from this call. Standard library only.
"""
import hmac
import html
import json
import os
import re
import sqlite3
import string
from http import HTTPStatus
from urllib.parse import parse_qs, quote, urlsplit

MAX_BODY = 64 * 1024
MAX_URL, MAX_TITLE, MAX_TAG, MAX_TAGS, MAX_OFFSET = 2000, 200, 100, 20, 1_000_000
FIELDS = ("url", "title", "tags")
ERROR_CODES = {400: "malformed_json", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
               413: "too_large", 415: "unsupported_media_type", 422: "invalid_field"}
ITEM = re.compile(r"^/api/bookmarks/([0-9]{1,18})$")  # 18 digits always fit SQLite's INTEGER
ALLOWED = {"/health": ("GET",), "/": ("GET",), "/api/bookmarks": ("GET", "POST"),
           "item": ("GET", "PATCH", "DELETE")}

PAGE = string.Template("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bookmarks</title></head>
<body><h1>Bookmarks</h1>
<form method="get" action=""><label>Tag <input name="tag" value="$tag"></label>
<button type="submit">Filter</button></form>
<ul>
$items
</ul></body></html>
""")


class Problem(Exception):
    """An answer in the contract's error shape."""

    def __init__(self, status, message, field=None, headers=()):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, list(headers)


def connect():
    db = sqlite3.connect(os.environ["BOOKMARKS_DB"])
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys = ON")
    db.executescript("""
        CREATE TABLE IF NOT EXISTS bookmark (
            id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, title TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS tag (
            bookmark_id INTEGER NOT NULL REFERENCES bookmark(id) ON DELETE CASCADE,
            name TEXT NOT NULL, position INTEGER NOT NULL);
    """)
    return db


def as_item(db, row):
    tags = [r["name"] for r in db.execute(
        "SELECT name FROM tag WHERE bookmark_id = ? ORDER BY position", (row["id"],))]
    return {"id": row["id"], "url": row["url"], "title": row["title"], "tags": tags}


def is_http_url(text):
    try:
        parts = urlsplit(text)
    except ValueError:  # a broken host, such as "http://[::1"
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def validate(data, partial):
    """The fields of a POST (all) or PATCH (some), checked; a Problem(422) names the first bad one."""
    if not isinstance(data, dict):
        raise Problem(422, "the body must be a JSON object", "body")
    for name in data:
        if name not in FIELDS:
            raise Problem(422, f"{name} is not a field of a bookmark (url, title, tags)", name)
    for name, longest in (("url", MAX_URL), ("title", MAX_TITLE)):
        if name not in data:
            if partial:
                continue
            raise Problem(422, f"{name} is required", name)
        if not isinstance(data[name], str) or not data[name].strip() or len(data[name]) > longest:
            raise Problem(422, f"{name} must be a string of 1 to {longest} characters, not only spaces", name)
    if "url" in data and not is_http_url(data["url"]):
        raise Problem(422, "url must be an absolute http or https URL", "url")
    if "tags" in data:
        tags = data["tags"]
        if not (isinstance(tags, list) and len(tags) <= MAX_TAGS and all(
                isinstance(t, str) and t.strip() and len(t) <= MAX_TAG for t in tags)):
            raise Problem(422, f"tags must be a list of at most {MAX_TAGS} strings of 1 to {MAX_TAG} "
                               "characters, not only spaces", "tags")
        data = dict(data, tags=list(dict.fromkeys(tags)))  # a tag sent twice is kept once
    return {k: data[k] for k in FIELDS if k in data}


def whole_number(query, name, default, low, high):
    raw = query.get(name, [str(default)])[-1]
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
        raise Problem(422, f"{name} must be a whole number from {low} to {high}", name)
    return int(raw)


def authorised(headers):
    """Is the request's key the one in BOOKMARKS_API_KEY? Compared in constant time."""
    presented = headers.get("authorization", "")
    scheme, _, key = presented.partition(" ")
    expected = os.environ["BOOKMARKS_API_KEY"]
    return scheme.lower() == "bearer" and hmac.compare_digest(key.encode(), expected.encode())


def json_answer(status, data, extra=()):
    body = json.dumps(data).encode()
    return status, [("Content-Type", "application/json"), *extra], body


def error_answer(problem):
    data = {"error": ERROR_CODES[problem.status], "message": problem.message}
    if problem.field:
        data["field"] = problem.field
    return json_answer(problem.status, data, problem.headers)


def refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def read_json(headers, body):
    """The body as I-JSON (RFC 7493): no NaN or Infinity, no lone surrogates; else a 400."""
    if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Problem(415, "send the body as application/json")
    try:
        data = json.loads(body, parse_constant=refuse_constant)
        json.dumps(data, ensure_ascii=False).encode()  # a lone surrogate cannot be UTF-8
    except (ValueError, RecursionError) as error:
        raise Problem(400, f"the body is not valid JSON: {error}") from None
    return data


def handle(method, path, query_string, headers, body):
    """One request -> (status, headers, body). headers: a dict with lower-case names. HEAD is
    answered as GET (the protocol side sends no body); every answer says nosniff."""
    try:
        status, response_headers, payload = route("GET" if method == "HEAD" else method, path,
                                                  parse_qs(query_string, keep_blank_values=True), headers, body)
    except Problem as problem:
        status, response_headers, payload = error_answer(problem)
    return status, [*response_headers, ("X-Content-Type-Options", "nosniff")], payload


def route(method, path, query, headers, body):
    match = ITEM.match(path)
    allowed = ALLOWED["item"] if match else ALLOWED.get(path)
    if allowed is None:
        raise Problem(404, f"nothing at {path}")
    if method not in allowed:
        raise Problem(405, f"{method} is not allowed here", headers=[("Allow", ", ".join(allowed))])
    if method != "GET" and not authorised(headers):
        raise Problem(401, "send the API key as 'Authorization: Bearer KEY'",
                      headers=[("WWW-Authenticate", 'Bearer realm="bookmarks"')])
    if body is None:
        raise Problem(413, f"the body is larger than {MAX_BODY} bytes")
    if path == "/health":
        return json_answer(200, {"status": "ok"})
    db = connect()
    try:
        with db:  # one transaction: committed on success, rolled back on error
            if method != "GET":  # take the write lock first: two writers that both read first deadlock
                db.execute("BEGIN IMMEDIATE")
            if path == "/":
                return page(db, query)
            if not match:
                return collection(db, method, query, headers, body)
            return member(db, method, int(match.group(1)), headers, body)
    finally:
        db.close()


def save_tags(db, bookmark_id, tags):
    db.execute("DELETE FROM tag WHERE bookmark_id = ?", (bookmark_id,))
    db.executemany("INSERT INTO tag (bookmark_id, name, position) VALUES (?, ?, ?)",
                   [(bookmark_id, name, n) for n, name in enumerate(tags)])


def collection(db, method, query, headers, body):
    if method == "POST":
        data = validate(read_json(headers, body), partial=False)
        cursor = db.execute("INSERT INTO bookmark (url, title) VALUES (?, ?)", (data["url"], data["title"]))
        save_tags(db, cursor.lastrowid, data.get("tags", []))
        item = as_item(db, db.execute("SELECT * FROM bookmark WHERE id = ?", (cursor.lastrowid,)).fetchone())
        return json_answer(201, item, [("Location", f"/api/bookmarks/{item['id']}")])
    limit = whole_number(query, "limit", 20, 1, 100)
    offset = whole_number(query, "offset", 0, 0, MAX_OFFSET)
    where, args = "", []
    if "tag" in query:
        where, args = "WHERE id IN (SELECT bookmark_id FROM tag WHERE name = ?)", [query["tag"][-1]]
    total = db.execute(f"SELECT COUNT(*) FROM bookmark {where}", args).fetchone()[0]
    rows = db.execute(f"SELECT * FROM bookmark {where} ORDER BY id LIMIT ? OFFSET ?", [*args, limit, offset])
    return json_answer(200, {"items": [as_item(db, r) for r in rows], "total": total,
                             "limit": limit, "offset": offset})


def member(db, method, bookmark_id, headers, body):
    row = db.execute("SELECT * FROM bookmark WHERE id = ?", (bookmark_id,)).fetchone()
    if row is None:
        raise Problem(404, f"there is no bookmark {bookmark_id}")
    if method == "DELETE":
        db.execute("DELETE FROM bookmark WHERE id = ?", (bookmark_id,))
        return 204, [], b""
    if method == "PATCH":
        data = validate(read_json(headers, body), partial=True)
        for name in ("url", "title"):
            if name in data:
                db.execute(f"UPDATE bookmark SET {name} = ? WHERE id = ?", (data[name], bookmark_id))
        if "tags" in data:
            save_tags(db, bookmark_id, data["tags"])
        row = db.execute("SELECT * FROM bookmark WHERE id = ?", (bookmark_id,)).fetchone()
    return json_answer(200, as_item(db, row))


def page(db, query):
    """The HTML page; every value goes through html.escape (what Jinja2's autoescaping does)."""
    tag = query.get("tag", [""])[-1]
    if tag:
        rows = db.execute("SELECT * FROM bookmark WHERE id IN (SELECT bookmark_id FROM tag WHERE name = ?) "
                          "ORDER BY id DESC LIMIT 50", (tag,))
    else:
        rows = db.execute("SELECT * FROM bookmark ORDER BY id DESC LIMIT 50")
    lines = []
    for item in (as_item(db, r) for r in rows):
        tags = " ".join(f'<a class="tag" href="?tag={html.escape(quote(t))}">{html.escape(t)}</a>'
                        for t in item["tags"])
        lines.append(f'<li><a href="{html.escape(item["url"])}">{html.escape(item["title"])}</a> {tags}</li>')
    text = PAGE.substitute(tag=html.escape(tag), items="\n".join(lines))
    return 200, [("Content-Type", "text/html; charset=utf-8")], text.encode()


def reason(status):
    return f"{status} {HTTPStatus(status).phrase}"
