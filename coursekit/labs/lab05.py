"""Lab 05, the bookmarks contract in Flask: each exercise runs one stage of coursekit.contract
against the student's app under gunicorn, plus a few looks at the source (blueprint, template
inheritance, how the key is compared)."""
import ast
import re
import secrets
from pathlib import Path

from coursekit.checks import CheckFailed, exercise
from coursekit.contract import ENV_API_KEY, ENV_DB, run_contract
from coursekit.servers import launch

APP = "apps/bookmarks_app.py"
API = "apps/bookmarks_api.py"
PAGES = "apps/bookmarks_pages.py"
TEMPLATES = Path("apps/templates")
# Strings that may appear in require_key() without being a key written into the code.
NOT_KEYS = {"Authorization", "API_KEY", ENV_API_KEY, "Bearer", "bookmarks", "realm",
            "GET", "HEAD", "OPTIONS", "POST", "PATCH", "DELETE"}


def serve(t):
    """The student's app under gunicorn on a fresh database and a fresh random key."""
    # In git-ignored apps/, as an absolute path: the server runs with apps/ as its working folder.
    folder = (Path("apps") / "check-data").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("bookmarks-*.sqlite3"):  # the last checks' databases
        old.unlink(missing_ok=True)
    db_path, key = folder / f"bookmarks-{secrets.token_hex(4)}.sqlite3", secrets.token_urlsafe(24)
    env = {ENV_DB: str(db_path), ENV_API_KEY: key}
    server = t.launch(APP, "gunicorn", app="create_app()", env=env)

    def restart():
        again = launch(APP, "gunicorn", app="create_app()", env=env, name=server.name,
                       timeout=10, quiet=True)
        t.servers.append(again)
        return again
    return server, key, db_path, restart


def contract_stage(t, stage, served=None):
    """One part per clause of the stage, each saying what the contract expects and what came back."""
    server, key, db_path, restart = served or serve(t)
    report = run_contract(server, key, [stage], db_path=db_path, restart=restart)
    for outcome in report.outcomes:
        with t.part(outcome.clause.description, hint=outcome.clause.hint):
            if not outcome.passed:
                raise CheckFailed(outcome.expected, outcome.got)


def source_of(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def function_in(path, name):
    """The ast of a top-level function in the student's file (or a plain failure)."""
    for node in ast.parse(source_of(path)).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise CheckFailed(f"a function {name}() in {path}", "none")


@exercise("5.1")
def routes_and_json(t):
    with t.part(f"the routes are in a Blueprint in {API}",
                hint="Keep api = Blueprint(...) and decorate the views with @api.get/@api.post."):
        t.expect(re.search(r"\bBlueprint\(", source_of(API)), "a Blueprint(...)", "none")
    contract_stage(t, "routes")


@exercise("5.2")
def storage(t):
    contract_stage(t, "storage")


@exercise("5.3")
def errors(t):
    contract_stage(t, "errors")


@exercise("5.4")
def auth(t):
    with t.part("require_key() compares keys with hmac.compare_digest, never ==",
                hint="== stops at the first wrong character, so its timing leaks the key; "
                     "hmac.compare_digest takes the same time for every guess."):
        node = function_in(API, "require_key")
        calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)
                 and getattr(n.func, "attr", getattr(n.func, "id", "")) == "compare_digest"]
        plain = [ast.unparse(n) for n in ast.walk(node) if isinstance(n, ast.Compare)
                 and any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in n.ops)
                 and re.search(r"key|KEY|Authorization|authorization", ast.unparse(n))
                 and not re.search(r"request\.method", ast.unparse(n))]
        t.expect(calls and not plain, "hmac.compare_digest(...) and no == on the key",
                 f"== in: {plain[0]}" if plain else "no call to compare_digest")
    with t.part(f"no key is written in {API}: it comes from {ENV_API_KEY}",
                hint=f"Read the key from the environment (create_app puts {ENV_API_KEY} in "
                     "app.config['API_KEY']); a key in the code ends up in git and in every copy."):
        node = function_in(API, "require_key")
        literals = [n.value for n in ast.walk(node) if isinstance(n, ast.Constant)
                    and isinstance(n.value, str) and len(n.value) >= 6 and " " not in n.value
                    and n.value.lower() not in {word.lower() for word in NOT_KEYS}]
        t.expect(not literals, "no key-like string in require_key()", repr(literals[0]) if literals else "")
    served = serve(t)
    with t.part(f"a write with the key from {ENV_API_KEY} is accepted",
                hint=f"Compare with the key in the environment variable {ENV_API_KEY} "
                     "(app.config['API_KEY']), not with one written in your code."):
        server, key = served[0], served[1]
        response = server.post("/api/bookmarks", json={"url": "https://example.org/", "title": "Key"},
                               headers={"Authorization": f"Bearer {key}"})
        t.expect(response.status_code == 201, "201", f"{response.status_code}")
    contract_stage(t, "auth", served)


@exercise("5.5")
def html_page(t):
    with t.part("templates/index.html extends base.html and fills its content block",
                hint='Start index.html with {% extends "base.html" %} and put the list in '
                     "{% block content %}...{% endblock %}."):
        index = source_of(TEMPLATES / "index.html")
        t.expect(re.search(r"""{%-?\s*extends\s+["']base\.html["']""", index)
                 and re.search(r"{%-?\s*block\s+content\s*-?%}", index),
                 '{% extends "base.html" %} and {% block content %}', "not both")
    with t.part("no title is marked |safe or Markup (that would turn autoescaping off)",
                hint="Leave {{ b.title }} as it is: Jinja2 escapes it for you."):
        t.expect(not re.search(r"\|\s*safe|Markup\(|autoescape\s+false", index),
                 "autoescaped output", "autoescaping turned off for some value")
    with t.part(f"the page is served by a Blueprint in {PAGES}",
                hint="Keep pages = Blueprint(...) and its @pages.get('/') view."):
        t.expect(re.search(r"\bBlueprint\(", source_of(PAGES)), "a Blueprint(...)", "none")
    contract_stage(t, "html")
