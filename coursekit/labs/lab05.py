"""Lab 05, the bookmarks contract in Flask: each exercise runs one stage of coursekit.contract
against the student's app under gunicorn, plus a few looks at the source (blueprint, template
inheritance, how the key is compared), and a student's own test, run against their app and against a
store that keeps nothing."""
import re
from pathlib import Path

from coursekit.checks import exercise
from coursekit.contract import ENV_API_KEY
from coursekit.labs import contract_checks as shared
from coursekit.labs.contract_checks import function_in, source_of

APP = "apps/bookmarks_app.py"
API = "apps/bookmarks_api.py"
PAGES = "apps/bookmarks_pages.py"
TEMPLATES = Path("apps/templates")
STUDENT_TEST = "apps/test_bookmarks_app.py"
TEST_SECONDS = shared.TEST_SECONDS
# Loaded into the student's pytest run by check 5.6. With LAB05_BREAK_STORE set, the store answers
# a create as if it had stored the bookmark, and keeps nothing: a test must read it back to notice.
PLUGIN_SOURCE = '''"""Written by lab 05's check 5.6."""
import json
import os


def pytest_configure(config):
    if os.environ.get("LAB05_BREAK_STORE"):
        import bookmarks_db

        def add_and_lose(url, title, tags):
            return {"id": 987654, "url": url, "title": title, "tags": list(tags)}
        bookmarks_db.add_bookmark = add_and_lose


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["LAB05_REPORT"], "w") as f:
        json.dump({"collected": session.testscollected}, f)
'''
# Strings that may appear in require_key() without being a key written into the code.
NOT_KEYS = {"Authorization", "API_KEY", ENV_API_KEY, "Bearer", "bookmarks", "realm",
            "GET", "HEAD", "OPTIONS", "POST", "PATCH", "DELETE"}


def serve(t):
    """The student's app under gunicorn on a fresh database and a fresh random key."""
    return shared.serve(t, APP, "gunicorn", app="create_app()")


def contract_stage(t, stage, served=None):
    shared.contract_stage(t, stage, served or serve(t))


def require_key():
    return function_in(API, "require_key")


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
    shared.key_compared_safely(t, require_key, r"key|KEY|Authorization|authorization")
    shared.no_key_in_code(t, require_key, NOT_KEYS, f"no key is written in {API}: it comes from {ENV_API_KEY}",
                          hint=f"Read the key from the environment (create_app puts {ENV_API_KEY} in "
                               "app.config['API_KEY']); a key in the code ends up in git and in every copy.")
    served = serve(t)
    shared.key_from_env_accepted(t, served, hint=f"Compare with the key in the environment variable {ENV_API_KEY} "
                                                 "(app.config['API_KEY']), not with one written in your code.")
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


@exercise("5.6")
def test_that_can_fail(t):
    run_pytest = shared.student_pytest(t, "lab05", PLUGIN_SOURCE, STUDENT_TEST)

    with t.part(f"{STUDENT_TEST} holds a test, and it passes against your app",
                hint="Give create_app a DATABASE of the test's own (tmp_path) and an API_KEY, send the key "
                     "as 'Authorization: Bearer KEY', and read pytest's output below the summary.",
                seconds=TEST_SECONDS + 5):
        source_of(STUDENT_TEST)  # a clear message when the file is missing
        code, summary, output, found = run_pytest()
        t.expect(found["collected"] > 0, "at least one test_... function", "pytest collected no test")
        t.expect(code == 0 and "passed" in summary, "pytest: all passed", f"pytest: {summary}\n{output}")
    with t.part("your test fails against a store that answers a create but keeps nothing",
                hint="After the POST, read the bookmark back (GET its Location, or the list) and assert "
                     "the status and the body: a test that only looks at the 201 cannot catch a lost write.",
                seconds=TEST_SECONDS + 5):
        code, summary, _, _ = run_pytest(LAB05_BREAK_STORE="1")
        t.expect(code != 0, "pytest to report a failure with the broken store", f"pytest: {summary}")
