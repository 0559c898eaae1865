"""Lab 08, the bookmarks contract in Django: each exercise runs the student's project under
gunicorn (or Django itself in a subprocess) on a fresh database, and checks one stage of
coursekit.contract plus what Django adds: settings, migrations, admin, forms, login, N+1."""
import ast
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import requests

from coursekit.checks import CheckFailed, exercise
from coursekit.contract import ENV_API_KEY
from coursekit.labs import contract_checks as shared
from coursekit.labs.contract_checks import fresh_env, function_in, source_of
from coursekit.servers import REQUEST_SECONDS
from coursekit.urls import on_server

SITE = Path("apps/bookmarks_site")
APP = SITE / "bookmarks"
MANAGE_SECONDS = 60
USER, PASSWORD = "teacher", "a long passphrase for the checks"
SQL_CALLS = {"raw", "execute", "executemany", "extra", "RawSQL"}


def site_env(t):
    """fresh_env() and what the site needs to start: a secret key, and plain HTTP (the checks talk
    to 127.0.0.1, where a Secure cookie would never be sent back)."""
    return fresh_env(t, DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_PLAIN_HTTP="1")


def python_in_site(code, env, seconds=MANAGE_SECONDS):
    """Run `code` in a fresh interpreter inside the project, with Django set up; the finished process."""
    setup = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'settings'); django.setup()\n"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BOOKMARKS_"))}
    return subprocess.run([sys.executable, "-c", setup + code], cwd=SITE, capture_output=True, text=True,
                          env={**full_env, **env}, timeout=seconds)


def last_line(done):
    return (done.stderr.strip().splitlines() or ["(no output)"])[-1]


def run_python(code, env, seconds=MANAGE_SECONDS):
    """Run `code` in a fresh interpreter inside the project, with Django set up; return its stdout."""
    done = python_in_site(code, env, seconds)
    if done.returncode != 0:
        raise CheckFailed("Django to start with your project", last_line(done))
    return done.stdout


def manage(args, env, seconds=MANAGE_SECONDS):
    """Run manage.py with a deadline; return (exit code, what it printed)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BOOKMARKS_"))}
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=SITE, capture_output=True, text=True,
                          env={**full_env, **env}, timeout=seconds)
    return done.returncode, (done.stdout + done.stderr).strip()


def migrated(t, env):
    """Apply the migrations to the fresh database (what a deploy does before serving)."""
    with t.part("manage.py migrate applies your migrations", seconds=MANAGE_SECONDS,
                hint="Run the makemigrations cell after changing models.py; the error above says more."):
        code, said = manage(["migrate", "--noinput"], env)
        t.expect(code == 0, "migrate to succeed", said.splitlines()[-1] if said else f"exit code {code}")
    return t.results[-1][1]


def warmed(server):
    """gunicorn accepts connections before its worker has imported Django and the URLconf: make
    the first request with a long deadline, so that the contract's 5-second ones time the app."""
    try:
        server.get("health", timeout=30)
    except requests.RequestException:
        pass  # the contract's own requests will say what is wrong
    return server


# Threads, so that requests really run at the same time, as on any production server: with one
# sync worker they queue, and a PATCH that reads the row and writes all of it back never loses a
# change here (storage.concurrent holds SQLite's write lock to make the overlap happen every time).
THREADS = ("--worker-class", "gthread", "--threads", "4")


def serve(t, env=None):
    """The student's project under gunicorn with 4 threads (its gunicorn.conf.py migrates on start)."""
    return shared.serve(t, SITE / "wsgi.py", "gunicorn", app="application", env=env or site_env(t),
                        ready=warmed, args=THREADS)


def contract_stages(t, stages, served=None):
    shared.contract_stage(t, stages, served or serve(t))


def sql_from_strings(path):
    """Calls like .raw(f"...") or cursor.execute("..." % x): SQL with values pasted in."""
    found = []
    for node in ast.walk(ast.parse(source_of(path))):
        if isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            sql = node.args[0]
            pasted = isinstance(sql, ast.JoinedStr) or (
                isinstance(sql, ast.BinOp) and isinstance(sql.op, (ast.Mod, ast.Add))) or (
                isinstance(sql, ast.Call) and getattr(sql.func, "attr", "") == "format")
            if name in SQL_CALLS and pasted:
                found.append(ast.unparse(node)[:80])
    return found


def logged_in(t, server, env):
    """A requests session logged in through /accounts/login/ as a user made by createsuperuser."""
    session = requests.Session()
    with t.part("a user logs in at /accounts/login/ (Django's LoginView, with its CSRF token)",
                hint="Keep path('accounts/', include('django.contrib.auth.urls')) in urls.py."):
        page = session.get(server.url + "accounts/login/", timeout=REQUEST_SECONDS)
        t.expect(page.status_code == 200, "200 for GET /accounts/login/", str(page.status_code))
        token = csrf_token(page, server, posts_to="accounts/login/")
        done = session.post(server.url + "accounts/login/", timeout=REQUEST_SECONDS, allow_redirects=False,
                            data={"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": token},
                            headers={"Referer": server.url + "accounts/login/"})
        t.expect(done.status_code == 302, "302 (logged in, redirected)", f"{done.status_code}")
    return session


def form_action(form):
    target = re.search(r'action="([^"]*)"', re.match(r"<form\b[^>]*>", form).group(0))
    return target.group(1) if target else ""


def on_server_path(link, page, server):
    """The path on the server that a link on `page` leads to (behind JupyterHub, the server's links
    start with its proxy prefix, which the proxy strips before forwarding)."""
    return urlsplit(on_server(link, page.url, server.url_prefix)).path


def csrf_token(page, server, posts_to=None):
    """The CSRF token of the page's form, or of the form that posts to the path `posts_to` on the
    server: a token elsewhere on the page (the logout form's) would not be sent with this form."""
    forms = re.findall(r"<form\b[^>]*>.*?</form>", page.text, re.S)
    if posts_to is not None:
        wanted = urlsplit(server.url + posts_to).path
        forms = [form for form in forms if on_server_path(form_action(form), page, server) == wanted]
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', "".join(forms))
    if not found:
        raise CheckFailed("a form with {% csrf_token %} in it", "no csrfmiddlewaretoken field in the form")
    return found.group(1)


def with_user(t, env):
    """Migrate the fresh database and create the checks' user (as a cell with createsuperuser does)."""
    if not migrated(t, env):
        return False
    with t.part("manage.py createsuperuser --noinput makes a user", seconds=MANAGE_SECONDS):
        code, said = manage(["createsuperuser", "--noinput", "--username", USER, "--email", "t@example.org"],
                            dict(env, DJANGO_SUPERUSER_PASSWORD=PASSWORD))
        t.expect(code == 0, "createsuperuser to succeed", said.splitlines()[-1] if said else str(code))
    return t.results[-1][1]


SETTINGS_PROBE = """
import json
from django.conf import settings
from bookmarks.models import Bookmark, Tag
fields = {m.__name__: {f.name: f.get_internal_type() for f in m._meta.get_fields()} for m in (Bookmark, Tag)}
print(json.dumps({"debug": settings.DEBUG is True, "key": settings.SECRET_KEY, "fields": fields}))
"""


@exercise("8.1")
def project(t):
    env = site_env(t)
    given_key = env["DJANGO_SECRET_KEY"]
    with t.part("Django starts with your settings and models", seconds=MANAGE_SECONDS,
                hint="Run the settings.py and models.py cells again; the error above says what is wrong."):
        plain = json.loads(run_python(SETTINGS_PROBE, env))
        turned_on = json.loads(run_python(SETTINGS_PROBE, dict(env, DJANGO_DEBUG="1")))
    if not t.results[-1][1]:
        return
    with t.part("DEBUG is off unless DJANGO_DEBUG=1 is in the environment",
                hint="flag('DJANGO_DEBUG') is os.environ.get(name) == '1': DEBUG = True in the code shows "
                     "tracebacks and settings to anyone who finds the server."):
        t.expect(not plain["debug"] and turned_on["debug"], "DEBUG False without DJANGO_DEBUG, True with DJANGO_DEBUG=1",
                 f"DEBUG {plain['debug']} without it, {turned_on['debug']} with it")
    with t.part("SECRET_KEY comes from DJANGO_SECRET_KEY, and without it Django refuses to start, saying so",
                seconds=MANAGE_SECONDS,
                hint="secret_key() raises ImproperlyConfigured('Set DJANGO_SECRET_KEY ...') when the variable is "
                     "unset or only spaces: a key in the code is in git and in every copy, and a random key per "
                     "start logs everyone out at each restart and on every other server."):
        t.expect(plain["key"] == given_key, "the key from DJANGO_SECRET_KEY", "another key")
        unset = python_in_site(SETTINGS_PROBE, {k: v for k, v in env.items() if k != "DJANGO_SECRET_KEY"})
        t.expect(unset.returncode != 0, "no start without DJANGO_SECRET_KEY",
                 "it started, with a key that came from somewhere else")
        t.expect("DJANGO_SECRET_KEY" in last_line(unset), "an error that names DJANGO_SECRET_KEY", last_line(unset))
        blank = python_in_site(SETTINGS_PROBE, dict(env, DJANGO_SECRET_KEY="  "))
        t.expect(blank.returncode != 0, "no start with DJANGO_SECRET_KEY set to spaces", "it started")
    with t.part("manage.py check --deploy finds nothing to warn about in production's environment",
                seconds=MANAGE_SECONDS,
                hint="Production is your settings without DJANGO_DEBUG and DJANGO_PLAIN_HTTP: read the warning "
                     "above, and fix the setting it names (keep the given HTTPS settings)."):
        production = {k: v for k, v in env.items() if k != "DJANGO_PLAIN_HTTP"}
        code, said = manage(["check", "--deploy", "--fail-level", "WARNING"], production)
        warned = re.findall(r"\(security\.\w+\)[^\n]*", said) or said.splitlines()[-1:]
        t.expect(code == 0, "no issues", warned[0][:200] if warned else f"exit code {code}")
    with t.part("models.py has Bookmark (url, title, owner, created) and Tag (bookmark, name)",
                hint="Follow the field list in the exercise; Tag's foreign key needs related_name='tags'."):
        fields = plain["fields"]
        wanted = {"Bookmark": {"url": "CharField", "title": "CharField", "owner": "ForeignKey",
                               "created": "DateTimeField", "tags": "ForeignKey"},
                  "Tag": {"bookmark": "ForeignKey", "name": "CharField"}}
        for model, names in wanted.items():
            for name, kind in names.items():
                t.expect(fields.get(model, {}).get(name) == kind, f"{model}.{name} ({kind})",
                         f"{model}.{name} is {fields.get(model, {}).get(name, 'missing')}")
    with t.part("a migration exists for every change to the models (makemigrations --check)",
                seconds=MANAGE_SECONDS,
                hint="Run the makemigrations cell after every change to models.py: without a migration "
                     "the table is never created (or never changed) in the database."):
        made = sorted(p.name for p in (APP / "migrations").glob("0*.py"))
        t.expect(made, "a file in bookmarks/migrations/ (0001_initial.py)", "no migration at all")
        code, said = manage(["makemigrations", "--check", "--dry-run", "bookmarks"], env)
        t.expect(code == 0, "No changes detected", said.replace("\n", " ")[:200])
    migrated(t, env)


@exercise("8.2")
def routes_and_storage(t):
    with t.part("no SQL is built from strings (f-strings, % or +) in bookmarks/",
                hint="Let the ORM write the SQL (filter(tags__name=tag)); where you must write SQL, pass "
                     "values as parameters: .raw('... WHERE name = %s', [tag]). Pasted values are SQL injection."):
        pasted = [f"{path.name}: {call}" for path in sorted(APP.glob("*.py")) for call in sql_from_strings(path)]
        t.expect(not pasted, "parameterised queries only", pasted[0] if pasted else "")
    contract_stages(t, ["routes", "storage"])


@exercise("8.3")
def errors(t):
    contract_stages(t, ["errors"])


@exercise("8.4")
def auth(t):
    shared.key_compared_safely(t, lambda: function_in(APP / "api.py", "require_key",
                                                     expected="a function require_key() in bookmarks/api.py"),
                               r"key|KEY|presented|Authorization", who="compare_digest")
    served = serve(t)
    shared.key_from_env_accepted(t, served, hint="Compare with settings.BOOKMARKS_API_KEY, which settings.py "
                                                 f"reads from {ENV_API_KEY}.")
    contract_stages(t, ["auth"], served)


N_PLUS_ONE = """
import json
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, setup_test_environment
from bookmarks.models import Bookmark, Tag
setup_test_environment()
owner = User.objects.create_user("owner", password="x")
counts = []
for n in ({few}, {many}):
    while Bookmark.objects.count() < n:
        b = Bookmark.objects.create(url="https://example.org/", title="B", owner=owner)
        Tag.objects.create(bookmark=b, name="one"); Tag.objects.create(bookmark=b, name="two")
    with CaptureQueriesContext(connection) as queries:
        status = Client().get("/").status_code
    counts.append([status, len(queries)])
print(json.dumps(counts))
"""


@exercise("8.5")
def html_page(t):
    with t.part("no title is marked |safe or autoescape off (Django escapes {{ b.title }} for you)",
                hint="Leave {{ b.title }} as it is; |safe and {% autoescape off %} turn escaping off."):
        index = source_of(APP / "templates" / "bookmarks" / "index.html")
        t.expect(not re.search(r"\|\s*safe|autoescape\s+off|mark_safe", index), "autoescaped output",
                 "autoescaping turned off for some value")
    env = site_env(t)
    if migrated(t, env):
        with t.part("the page's number of queries does not grow with the number of bookmarks (no N+1)",
                    seconds=MANAGE_SECONDS,
                    hint="Each b.owner and b.tags.all in the template is one more query per bookmark: "
                         "add .select_related('owner') and .prefetch_related('tags') to the view's queryset."):
            (few_status, few), (many_status, many) = json.loads(run_python(N_PLUS_ONE.format(few=3, many=9), env))
            t.expect(few_status == many_status == 200, "200 for GET /", f"{few_status}, {many_status}")
            t.expect(few == many, "as many queries for 9 bookmarks as for 3",
                     f"{few} queries for 3 bookmarks, {many} for 9")
    contract_stages(t, ["html"])


@exercise("8.6")
def admin_site(t):
    env = site_env(t)
    if not with_user(t, env):
        return
    server, key = serve(t, env)[:2]
    title = f"Admin check {secrets.token_hex(3)}"
    created = server.post("/api/bookmarks", headers={"Authorization": f"Bearer {key}"},
                          json={"url": "https://docs.djangoproject.com/", "title": title, "tags": ["django"]})
    other = server.post("/api/bookmarks", headers={"Authorization": f"Bearer {key}"},
                        json={"url": "https://www.python.org/", "title": "Another one", "tags": []})
    session = requests.Session()
    with t.part("the superuser logs in to the admin at /admin/login/"):
        page = session.get(server.url + "admin/login/", timeout=REQUEST_SECONDS)
        done = session.post(server.url + "admin/login/?next=/admin/", timeout=REQUEST_SECONDS, allow_redirects=False,
                            data={"username": USER, "password": PASSWORD, "next": "/admin/",
                                  "csrfmiddlewaretoken": csrf_token(page, server)})
        t.expect(done.status_code == 302, "302 to /admin/", f"{done.status_code}")
    changelist = server.url + "admin/bookmarks/bookmark/"
    with t.part("Bookmark is registered with the admin (a Bookmarks list at /admin/bookmarks/bookmark/)",
                hint="Register your ModelAdmin for Bookmark with the @admin.register decorator, or call "
                     "admin.site.register."):
        listing = session.get(changelist, timeout=REQUEST_SECONDS)
        t.expect(listing.status_code == 200, "200", f"{listing.status_code}")
    with t.part("the list shows each bookmark's url and owner columns (list_display)",
                hint="Set the ModelAdmin's list_display to the fields to show as columns, url and owner among them."):
        t.expect("column-url" in listing.text and "column-owner" in listing.text,
                 "url and owner columns", "not both columns")
        t.expect(created.status_code == 201 and title in listing.text, f"{title!r} in the list", "not there")
    with t.part("the admin searches titles (search_fields)",
                hint="Set the ModelAdmin's search_fields to the fields the search box looks in (the title, the url)."):
        found = session.get(changelist, params={"q": title.split()[-1]}, timeout=REQUEST_SECONDS)
        t.expect(other.status_code == 201 and 'name="q"' in found.text and title in found.text
                 and "Another one" not in found.text,
                 "a search box that finds the bookmark by its title", "no search, or no match")
    with t.part("tags are edited inline on a bookmark's page (a TabularInline of Tag)",
                hint="Write an admin.TabularInline subclass whose model is Tag, and name it in the ModelAdmin's inlines."):
        item = created.json()["id"]
        change = session.get(f"{changelist}{item}/change/", timeout=REQUEST_SECONDS)
        t.expect('name="tags-TOTAL_FORMS"' in change.text, "an inline formset of tags", "none")


@exercise("8.7")
def form_and_login(t):
    env = site_env(t)
    if not with_user(t, env):
        return
    server = serve(t, env)[0]
    with t.part("/new/ sends a visitor who is not logged in to the login page",
                hint="Decorate new_bookmark with @login_required."):
        anonymous = requests.get(server.url + "new/", timeout=REQUEST_SECONDS, allow_redirects=False)
        login = on_server_path(anonymous.headers.get("Location", ""), anonymous, server)
        t.expect(anonymous.status_code == 302 and login == "/accounts/login/",
                 "302 to /accounts/login/?next=/new/",
                 f"{anonymous.status_code} {anonymous.headers.get('Location', '')}".strip())
    session = logged_in(t, server, env)
    title = f"Form check {secrets.token_hex(3)}"
    with t.part("the logged-in user's form, with its CSRF token, saves a bookmark with its owner and tags",
                hint="{% csrf_token %} inside the <form>; the view makes request.user the bookmark's owner "
                     "and saves the tags from form.cleaned_data."):
        page = session.get(server.url + "new/", timeout=REQUEST_SECONDS)
        t.expect(page.status_code == 200, "200 for GET /new/ when logged in", str(page.status_code))
        sent = session.post(server.url + "new/", timeout=REQUEST_SECONDS, allow_redirects=False,
                            headers={"Referer": server.url + "new/"},
                            data={"url": "https://www.djangoproject.com/", "title": title,
                                  "tags": "web, python",
                                  "csrfmiddlewaretoken": csrf_token(page, server, posts_to="new/")})
        t.expect(sent.status_code == 302, "302 (saved, redirected to the page)", str(sent.status_code))
        listed = session.get(server.url, timeout=REQUEST_SECONDS).text
        t.expect(title in listed and f"added by {USER}" in listed and "?tag=python" in listed,
                 f"{title!r}, 'added by {USER}' and its tags on the page", "not all of them")
    with t.part("an invalid URL is refused with the form's error message, and nothing is saved",
                hint="Use a ModelForm (URLField validates) and render the form again when form.is_valid() "
                     "is False."):
        page = session.get(server.url + "new/", timeout=REQUEST_SECONDS)
        bad = session.post(server.url + "new/", timeout=REQUEST_SECONDS, allow_redirects=False,
                           headers={"Referer": server.url + "new/"},
                           data={"url": "not a url", "title": "Bad " + title, "tags": "",
                                 "csrfmiddlewaretoken": csrf_token(page, server, posts_to="new/")})
        t.expect(bad.status_code in (200, 422) and "Enter a valid URL" in bad.text,
                 "the form again, saying 'Enter a valid URL.'", str(bad.status_code))
        t.expect("Bad " + title not in session.get(server.url, timeout=REQUEST_SECONDS).text, "nothing saved", "it was saved")
    with t.part("an ftp:// url is refused by the form, as the API refuses it",
                hint="Django's URL check lets ftp:// through: add clean_url to the form, raising "
                     "forms.ValidationError unless is_http_url(url) says yes."):
        page = session.get(server.url + "new/", timeout=REQUEST_SECONDS)
        ftp = session.post(server.url + "new/", timeout=REQUEST_SECONDS, allow_redirects=False,
                           headers={"Referer": server.url + "new/"},
                           data={"url": "ftp://example.org/file", "title": "Ftp " + title, "tags": "",
                                 "csrfmiddlewaretoken": csrf_token(page, server, posts_to="new/")})
        t.expect(ftp.status_code in (200, 422), "the form again, with an error for the url", str(ftp.status_code))
        t.expect("Ftp " + title not in session.get(server.url, timeout=REQUEST_SECONDS).text, "nothing saved", "it was saved")
    with t.part("a forged cross-site POST (the user's cookies, no CSRF token) is refused with 403",
                hint="Never put @csrf_exempt on a view that a logged-in browser posts to: another site's "
                     "page could post to it with your user's cookies."):
        forged = requests.post(server.url + "new/", timeout=REQUEST_SECONDS, allow_redirects=False,
                               cookies=session.cookies.get_dict(),
                               headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
                               data={"url": "https://evil.example/", "title": "Forged " + title, "tags": ""})
        t.expect(forged.status_code == 403, "403 Forbidden (CSRF verification failed)", str(forged.status_code))
        t.expect("Forged " + title not in session.get(server.url, timeout=REQUEST_SECONDS).text, "nothing saved", "it was saved")
    with t.part("logging out ends the session: /new/ asks for the login again",
                hint="Keep the logout form (POST, with {% csrf_token %}) in base.html."):
        page = session.get(server.url, timeout=REQUEST_SECONDS)
        out = session.post(server.url + "accounts/logout/", timeout=REQUEST_SECONDS, allow_redirects=False,
                           headers={"Referer": server.url},
                           data={"csrfmiddlewaretoken": csrf_token(page, server, posts_to="accounts/logout/")})
        again = session.get(server.url + "new/", timeout=REQUEST_SECONDS, allow_redirects=False)
        t.expect(out.status_code == 302 and again.status_code == 302, "logged out, then sent to the login page",
                 f"{out.status_code} for the logout, {again.status_code} for /new/ afterwards")



STUDENT_TEST = "apps/bookmarks_site/test_bookmarks_django.py"
# Loaded into the student's pytest run by check 8.8. With LAB08_BREAK set, once a test is running (its
# fixtures have set Django up), the site is broken on purpose: "patch" answers a PATCH with the changed
# bookmark but stores nothing; "tag" lists every bookmark whatever ?tag= says.
PLUGIN_SOURCE = '''"""Written by lab 08's check 8.8."""
import json
import os

import pytest


def break_the_site(which):
    from django.apps import apps

    if not apps.ready:  # the test never set Django up: nothing of the site to break
        return
    import bookmarks.api as api

    if which == "patch" and not getattr(api.BookmarkDetail, "broken", False):
        def patch(self, request, pk):
            bookmark = api.find(pk)
            fields = api.validate(api.json_body(request), partial=True)
            for name in ("url", "title"):
                if name in fields:
                    setattr(bookmark, name, fields[name])
            return api.JsonResponse(bookmark.as_json())  # answered, never stored
        api.BookmarkDetail.patch, api.BookmarkDetail.broken = patch, True
    if which == "tag" and not getattr(api.BookmarkList, "broken", False):
        listed = api.BookmarkList.get

        def get(self, request):
            request.GET = request.GET.copy()
            request.GET.pop("tag", None)  # the filter is ignored
            return listed(self, request)
        api.BookmarkList.get, api.BookmarkList.broken = get, True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if os.environ.get("LAB08_BREAK"):
        break_the_site(os.environ["LAB08_BREAK"])
    yield


def pytest_sessionfinish(session, exitstatus):
    with open(os.environ["LAB08_REPORT"], "w") as f:
        json.dump({"collected": session.testscollected}, f)
'''


@exercise("8.8")
def tests_that_can_fail(t):
    run_pytest = shared.student_pytest(t, "lab08", PLUGIN_SOURCE, STUDENT_TEST,
                                       drop=(ENV_API_KEY, "DJANGO_SECRET_KEY", "DJANGO_SETTINGS_MODULE"))
    with t.part(f"{STUDENT_TEST} holds tests, and they pass against your site",
                hint="In the fixture, set BOOKMARKS_DB (in a temporary folder), BOOKMARKS_API_KEY and "
                     "DJANGO_SECRET_KEY before django.setup(), migrate, and send the key with "
                     "headers={'Authorization': 'Bearer KEY'}; pytest's output is below the summary.",
                seconds=shared.TEST_SECONDS + 5):
        source_of(STUDENT_TEST)  # a clear message when the file is missing
        code, summary, output, found = run_pytest()
        t.expect(found["collected"] > 1, "at least two test_... functions", f"{found['collected']} collected")
        t.expect(code == 0 and "passed" in summary, "pytest: all passed", f"pytest: {summary}\n{output}")
    with t.part("your tests fail against a site whose PATCH answers 200 but keeps nothing",
                hint="After the PATCH, read the bookmark back (GET /api/bookmarks/ID) and assert the new "
                     "value: a test that looks only at the PATCH's own answer cannot see a lost write.",
                seconds=shared.TEST_SECONDS + 5):
        code, summary, _, _ = run_pytest(LAB08_BREAK="patch")
        t.expect(code != 0, "pytest to report a failure with the broken PATCH", f"pytest: {summary}")
    with t.part("your tests fail against a site whose list ignores ?tag=",
                hint="Create a bookmark with the tag and one without, ask for ?tag=..., and assert exactly "
                     "which ids come back: checking only that the tagged one is there cannot see a filter "
                     "that lets everything through.",
                seconds=shared.TEST_SECONDS + 5):
        code, summary, _, _ = run_pytest(LAB08_BREAK="tag")
        t.expect(code != 0, "pytest to report a failure with the broken filter", f"pytest: {summary}")


IMPORTED = """
import json
from bookmarks.models import Bookmark
print(json.dumps([b.as_json() for b in Bookmark.objects.prefetch_related("tags")]))
"""
GOOD_ITEMS = [{"url": "https://docs.djangoproject.com/", "title": "Django docs", "tags": ["django", "docs"]},
              {"url": "https://www.python.org/", "title": "Python"},
              {"url": "https://peps.python.org/pep-3333/", "title": "PEP 3333", "tags": ["wsgi"]}]


def imported(env):
    return [{k: v for k, v in b.items() if k != "id"} for b in json.loads(run_python(IMPORTED, env))]


def refused_plainly(t, code, said, what):
    """A failed command's output: a non-zero exit and one CommandError line, never a traceback."""
    t.expect(code != 0, f"a non-zero exit code for {what}", "exit code 0")
    t.expect("Traceback" not in said and said.splitlines()[-1:] and said.splitlines()[-1].startswith("CommandError"),
             f"one line 'CommandError: ...' for {what}, no traceback",
             said.splitlines()[-1][:200] if said else "(nothing printed)")


@exercise("8.9")
def import_command(t):
    env = site_env(t)
    if not migrated(t, env):
        return
    folder = shared.data_folder()
    files = {name: folder / f"lab08-import-{secrets.token_hex(4)}-{name}" for name in ("good.json", "bad.json", "broken.json")}
    t.cleanups.append(lambda: [path.unlink(missing_ok=True) for path in files.values()])
    files["good.json"].write_text(json.dumps(GOOD_ITEMS))
    files["bad.json"].write_text(json.dumps([{"url": "https://example.org/", "title": "Fine"},
                                            {"url": "https://example.org/two", "title": "Also fine"},
                                            {"url": "ftp://example.org/file", "title": "Not http"}]))
    files["broken.json"].write_text('[{"url": "https://example.org/", "title": ')
    wanted = [dict(item, tags=item.get("tags", [])) for item in GOOD_ITEMS]
    with t.part("manage.py import_bookmarks FILE adds every bookmark of a valid file, with its tags",
                seconds=MANAGE_SECONDS,
                hint="Write the command in bookmarks/management/commands/import_bookmarks.py: a class Command"
                     "(BaseCommand) whose handle() reads the file with json.load, checks each item with the API's "
                     "validate() and stores it with its save()."):
        code, said = manage(["import_bookmarks", str(files["good.json"])], env)
        t.expect(code == 0, "exit code 0", said.splitlines()[-1][:200] if said else f"exit code {code}")
        got = imported(env)
        t.expect(got == wanted, f"the {len(wanted)} bookmarks of the file", repr(got)[:200])
    with t.part("a file with an invalid bookmark: a plain error naming it, and none of the file stored",
                seconds=MANAGE_SECONDS,
                hint="Raise CommandError('bookmark 3: ...') for a Problem (Django prints it on one line and exits "
                     "with 1), and put transaction.atomic() around the whole import, so that the error undoes the "
                     "bookmarks stored before it: all or nothing."):
        code, said = manage(["import_bookmarks", str(files["bad.json"])], env)
        refused_plainly(t, code, said, "the invalid bookmark")
        t.expect("3" in said.splitlines()[-1] and "url" in said.splitlines()[-1],
                 "a message that names bookmark 3 and its url", said.splitlines()[-1][:200])
        got = imported(env)
        t.expect(got == wanted, "nothing of that file stored (all or nothing)",
                 f"{len(got) - len(wanted)} of its bookmarks stored")
    with t.part("a missing file, and a file that is not JSON: a plain error each",
                seconds=MANAGE_SECONDS,
                hint="Catch OSError (the file cannot be read) and ValueError (json.load's JSONDecodeError), "
                     "and raise CommandError with a message of your own."):
        code, said = manage(["import_bookmarks", str(folder / "no-such-file.json")], env)
        refused_plainly(t, code, said, "a missing file")
        code, said = manage(["import_bookmarks", str(files["broken.json"])], env)
        refused_plainly(t, code, said, "a file that is not JSON")
