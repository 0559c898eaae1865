"""Plausible wrong answers to lab 05 (and one valid alternative per exercise), as plain data.

Each entry: the exercise, a label, the file whose %%writefile cell is replaced ("cell"), the
replacement source of that cell ("source", the solution's file with one change), and a
substring the check's report must contain ("hint"), or valid=True for an answer that must pass.
tests/test_lab05.py drives every entry through the real checks.
"""
from pathlib import Path

import nbformat

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "05-flask.ipynb"


def solution_file(name):
    """The source that the solution's last %%writefile cell for `name` writes."""
    found = None
    for cell in nbformat.read(SOLUTION, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith(f"%%writefile {name}\n"):
            found = cell.source.split("\n", 1)[1]
    if found is None:
        raise LookupError(f"the solution writes no {name}")
    return found


def changed(name, old, new):
    source = solution_file(name)
    if source.count(old) != 1:
        raise LookupError(f"{old!r} is not in {name} exactly once: update tests/wrong_answers_lab05.py")
    return source.replace(old, new)


def entry(exercise, label, cell, old, new, hint=None, valid=False):
    return {"exercise": exercise, "label": label, "cell": cell, "source": changed(cell, old, new),
            "hint": hint, "valid": valid}


API, DB, APP = "apps/bookmarks_api.py", "apps/bookmarks_db.py", "apps/bookmarks_app.py"
PAGES, INDEX = "apps/bookmarks_pages.py", "apps/templates/index.html"


def wrong_answers():
    return [
        # 5.1 routes and JSON
        entry("5.1", "no Location header on 201", API,
              'return item, 201, {"Location": url_for("api.read", bookmark_id=item["id"])}',
              "return item, 201", "Location"),
        entry("5.1", "create answers 200", API,
              'return item, 201, {"Location": url_for("api.read", bookmark_id=item["id"])}',
              'return item, {"Location": url_for("api.read", bookmark_id=item["id"])}', "201"),
        entry("5.1", "total is the length of the page", API,
              '"total": total,', '"total": len(items),', "COUNT"),
        entry("5.1", "delete answers 200 with a body", API,
              'return "", 204', 'return {"deleted": bookmark_id}', "204"),
        entry("5.1", "absolute Location (_external=True)", API,
              'url_for("api.read", bookmark_id=item["id"])',
              'url_for("api.read", bookmark_id=item["id"], _external=True)', valid=True),
        # 5.2 storage
        entry("5.2", "database path written in the code", DB,
              'sqlite3.connect(current_app.config["DATABASE"])', 'sqlite3.connect("bookmarks.sqlite3")',
              "BOOKMARKS_DB"),
        entry("5.2", "no commit after INSERT", DB,
              "                        (url, title, json.dumps(list(tags))))\n    db.commit()\n",
              "                        (url, title, json.dumps(list(tags))))\n", "commit"),
        {"exercise": "5.2", "label": "the in-memory stand-in kept", "cell": DB,
         "source": stand_in(), "hint": "SQLite", "valid": False},
        entry("5.2", "autocommit instead of commit()", DB,
              'sqlite3.connect(current_app.config["DATABASE"])',
              'sqlite3.connect(current_app.config["DATABASE"], isolation_level=None)', valid=True),
        # 5.3 errors
        entry("5.3", "no JSON error handler registered", APP,
              "    app.register_error_handler(HTTPException, json_error)\n", "", "errorhandler"),
        entry("5.3", "the handler drops the error's headers (Allow)", APP,
              "    for name, value in error.get_headers():\n        if name.lower() != \"content-type\":\n"
              "            response.headers[name] = value\n", "", "Allow"),
        entry("5.3", "json.loads on the raw body: a 500 on malformed JSON", API,
              "fields = validate(request.get_json(), partial=False)",
              'fields = validate(__import__("json").loads(request.get_data()), partial=False)',
              "never answers 500"),
        entry("5.3", "no MAX_CONTENT_LENGTH", APP,
              "    app.config[\"MAX_CONTENT_LENGTH\"] = 64 * 1024\n", "", "MAX_CONTENT_LENGTH"),
        entry("5.3", "any string accepted as url", API,
              'if parts.scheme not in ("http", "https") or not parts.netloc:', "if False:", "urlsplit"),
        entry("5.3", "url checked with hostname and a lower-cased scheme", API,
              'if parts.scheme not in ("http", "https") or not parts.netloc:',
              'if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:', valid=True),
        # 5.4 the API key
        entry("5.4", "keys compared with !=", API,
              "not hmac.compare_digest(presented.encode(), expected.encode())", "presented != expected",
              "compare_digest"),
        entry("5.4", "a key written into the code", API,
              'expected = current_app.config["API_KEY"]', 'expected = "dev-secret-key-42"', "environment"),
        entry("5.4", "401 without WWW-Authenticate", API,
              ',\n                           www_authenticate=WWWAuthenticate("Bearer", {"realm": "bookmarks"}))',
              ")", "WWW-Authenticate"),
        entry("5.4", "the Bearer scheme not checked", API,
              'if scheme != "Bearer" or not expected', "if not expected", "Bearer"),
        entry("5.4", "request.authorization (Werkzeug parses the header)", API,
              '    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")\n'
              '    expected = current_app.config["API_KEY"]\n'
              '    if scheme != "Bearer" or not expected or not hmac.compare_digest(presented.encode(), '
              'expected.encode()):',
              '    auth = request.authorization\n'
              '    expected = current_app.config["API_KEY"]\n'
              '    if auth is None or auth.type != "bearer" or not expected or not hmac.compare_digest(\n'
              '            (auth.token or "").encode(), expected.encode()):', valid=True),
        # 5.5 the page
        entry("5.5", "title marked |safe", INDEX, "{{ b.title }}", "{{ b.title|safe }}", "escapes"),
        entry("5.5", "a whole page without inheritance", INDEX, '{% extends "base.html" %}\n', "", "extends"),
        entry("5.5", "tags shown but not linked", INDEX,
              """<a class="tag" href="{{ url_for('pages.index', tag=t) }}">{{ t }}</a>""",
              "<span>{{ t }}</span>", "url_for"),
        entry("5.5", "title not a link", INDEX, '<a href="{{ b.url }}">{{ b.title }}</a>',
              "{{ b.title }} ({{ b.url }})", "<a href"),
        entry("5.5", "subscript syntax in the template", INDEX, '<a href="{{ b.url }}">{{ b.title }}</a>',
              '<a href="{{ b["url"] }}">{{ b["title"] }}</a>', valid=True),
    ]


def stand_in():
    """The dict-based store that exercise 5.1 gives (the first %%writefile cell of bookmarks_db.py)."""
    for cell in nbformat.read(SOLUTION, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith(f"%%writefile {DB}\n"):
            return cell.source.split("\n", 1)[1]
    raise LookupError("the solution has no stand-in store")
