"""Lab 05's wrong answers (format: tests/wrong_answers/__init__.py). Edits are of the files the
solution's %%writefile cells write (apps/bookmarks_*.py, apps/templates/index.html).

Exercise 5.2 rewrites apps/bookmarks_db.py (5.1's cell writes a dict-based stand-in first), so an
edit of that file quotes text that only the SQLite version has; "the stand-in kept" replaces the
whole SQLite file with the stand-in, both read from the solution notebook.
"""
from pathlib import Path

import nbformat

from wrong_answers import Answer

SOLUTION = "05-solution-flask.ipynb"
DB_CELL = "%%writefile apps/bookmarks_db.py\n"


def _written(cell_start):
    """The sources (without their %%writefile line) of the solution's cells that write one file."""
    notebook = nbformat.read(Path(__file__).resolve().parents[2] / "solutions" / SOLUTION, as_version=4)
    return [cell.source.removeprefix(cell_start) for cell in notebook.cells
            if cell.cell_type == "code" and cell.source.startswith(cell_start)]


STAND_IN, SQLITE = _written(DB_CELL)  # 5.1's dict store, then 5.2's SQLite store
CREATED = 'return item, 201, {"Location": url_for("api.read", bookmark_id=item["id"])}'
CONNECT = 'sqlite3.connect(current_app.config["DATABASE"])'
READ_BACK = ('    read = client.get(created.headers["Location"])\n'
             "    assert read.status_code == 200\n"
             '    assert read.json["title"] == "Flask"\n'
             '    assert read.json["url"] == "https://flask.palletsprojects.com/"\n')
TEST_APP = 'create_app({"TESTING": True, "DATABASE": str(tmp_path / "test.sqlite3"), "API_KEY": KEY})'
URL_RULE = 'return parts.scheme in ("http", "https") and bool(parts.netloc)'
KEY_CHECK = '''    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    expected = current_app.config["API_KEY"]
    if scheme.lower() != "bearer" or not expected or not hmac.compare_digest(presented.encode(), expected.encode()):'''
TITLE_LINK = '<a href="{{ b.url }}">{{ b.title }}</a>'

ANSWERS = [
    Answer("5.1", "no Location header on 201", edit=[(CREATED, "return item, 201")], says=["Location"]),
    Answer("5.1", "create answers 200",
           edit=[(CREATED, 'return item, {"Location": url_for("api.read", bookmark_id=item["id"])}')],
           says=["201"]),
    Answer("5.1", "total is the length of the page", edit=[('"total": total,', '"total": len(items),')],
           says=["COUNT"]),
    Answer("5.1", "delete answers 200 with a body",
           edit=[('return "", 204', 'return {"deleted": bookmark_id}')], says=["204"]),
    Answer("5.1", "valid: an absolute Location (_external=True)",
           edit=[('url_for("api.read", bookmark_id=item["id"])',
                  'url_for("api.read", bookmark_id=item["id"], _external=True)')],
           passes=True),

    Answer("5.2", "the database path written in the code",
           edit=[(CONNECT, 'sqlite3.connect("bookmarks.sqlite3")')], says=["BOOKMARKS_DB"]),
    Answer("5.2", "no commit after INSERT",
           edit=[("                        (url, title, json.dumps(list(tags))))\n    db.commit()\n",
                  "                        (url, title, json.dumps(list(tags))))\n")],
           says=["commit"]),
    Answer("5.2", "the in-memory stand-in kept", edit=[(SQLITE, STAND_IN)], says=["SQLite"]),
    Answer("5.2", "valid: autocommit instead of commit()",
           edit=[(CONNECT, 'sqlite3.connect(current_app.config["DATABASE"], isolation_level=None)')],
           passes=True),

    Answer("5.3", "no JSON error handler registered",
           edit=[("    app.register_error_handler(HTTPException, json_error)\n", "")],
           says=["errorhandler"]),
    Answer("5.3", "the handler drops the error's headers (Allow)",
           edit=[('    for name, value in error.get_headers():\n        if name.lower() != "content-type":\n'
                  "            response.headers[name] = value\n", "")],
           says=["Allow"]),
    Answer("5.3", "json.loads on the raw body: a 500 on malformed JSON",
           edit=[("fields = validate(read_json(), partial=False)",
                  'fields = validate(__import__("json").loads(request.get_data()), partial=False)')],
           says=["never answers 500"]),
    Answer("5.3", "no MAX_CONTENT_LENGTH", edit=[('    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024\n', "")],
           says=["MAX_CONTENT_LENGTH"]),
    Answer("5.3", "any string accepted as url", edit=[(URL_RULE, "return True")], says=["urlsplit"]),
    Answer("5.3", "valid: url checked with hostname and a lower-cased scheme",
           edit=[(URL_RULE, 'return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)')],
           passes=True),
    Answer("5.3", "str.isdigit() for limit and offset: a 500 on '²'",
           edit=[('if not re.fullmatch("[0-9]{1,9}", raw) or', "if not raw.isdigit() or")],
           says=["str.isdigit() says yes"]),
    Answer("5.3", "unknown fields ignored",
           edit=[("    for name in data:\n        if name not in FIELDS:\n", "    for name in ():\n        if name not in FIELDS:\n")],
           says=["unknown field 'titel'"]),
    Answer("5.3", "tags not checked for blanks and length",
           edit=[("isinstance(tag, str) and tag.strip() and len(tag) <= MAX_TAG for tag in tags)",
                  "isinstance(tag, str) for tag in tags)")],
           says=["a POST with an empty tag"]),

    Answer("5.4", "keys compared with !=",
           edit=[("not hmac.compare_digest(presented.encode(), expected.encode())", "presented != expected")],
           says=["compare_digest"]),
    Answer("5.4", "a key written into the code",
           edit=[('expected = current_app.config["API_KEY"]', 'expected = "dev-secret-key-42"')],
           says=["environment"]),
    Answer("5.4", "401 without WWW-Authenticate",
           edit=[(',\n                           www_authenticate=WWWAuthenticate("Bearer", {"realm": "bookmarks"}))',
                  ")")],
           says=["WWW-Authenticate"]),
    Answer("5.4", "the Bearer scheme not checked",
           edit=[('if scheme.lower() != "bearer" or not expected', "if not expected")], says=["Bearer"]),
    Answer("5.4", "the scheme compared case-sensitively",
           edit=[('if scheme.lower() != "bearer" or not expected', 'if scheme != "Bearer" or not expected')],
           says=["case-insensitive"]),
    Answer("5.4", "valid: request.authorization (Werkzeug parses the header)",
           edit=[(KEY_CHECK, '    auth = request.authorization\n'
                             '    expected = current_app.config["API_KEY"]\n'
                             '    if auth is None or auth.type != "bearer" or not expected or not hmac.compare_digest(\n'
                             '            (auth.token or "").encode(), expected.encode()):')],
           passes=True),

    Answer("5.5", "the title marked |safe", edit=[("{{ b.title }}</a>", "{{ b.title|safe }}</a>")],
           says=["escapes"]),
    Answer("5.5", "a whole page without inheritance", edit=[('{% extends "base.html" %}\n', "")],
           says=["extends"]),
    Answer("5.5", "tags shown but not linked",
           edit=[("""<a class="tag" href="{{ url_for('pages.index', tag=t) }}">{{ t }}</a>""",
                  "<span>{{ t }}</span>")],
           says=["url_for"]),
    Answer("5.5", "the title not a link", edit=[(TITLE_LINK, "{{ b.title }} ({{ b.url }})")], says=["<a href"]),
    Answer("5.5", "valid: subscript syntax in the template",
           edit=[(TITLE_LINK, '<a href="{{ b["url"] }}">{{ b["title"] }}</a>')],
           passes=True),
    # 5.6 a test of the student's own, which must fail on a store that keeps nothing
    Answer("5.6", "a test that cannot fail: only the 201 is asserted",
           edit=[(READ_BACK, "")],
           says=["cannot catch a lost write"]),
    Answer("5.6", "the test opens the real database (no DATABASE of its own)",
           edit=[(TEST_APP, 'create_app({"TESTING": True, "API_KEY": KEY})')],
           says=["DATABASE of the test's own"]),
    Answer("5.6", "the test sends no key, so its create is refused",
           edit=[(',\n                          headers={"Authorization": f"Bearer {KEY}"})', ")")],
           says=["Bearer KEY"]),
    Answer("5.6", "valid: the bookmark read back through the list",
           edit=[(READ_BACK, '    listed = client.get("/api/bookmarks").json\n'
                             '    assert listed["total"] == 1\n'
                             '    assert [item["title"] for item in listed["items"]] == ["Flask"]\n')],
           passes=True),
]
