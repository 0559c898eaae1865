"""The service contract (coursekit/contract.py), checked over real HTTP against every implementation.

One row per implementation in IMPLEMENTATIONS: the hand-written WSGI and ASGI versions in
tests/apps, and each framework lab's solution, whose files are the %%writefile cells of its
solution notebook. A new framework is one more row. The lab starters must FAIL the contract.
"""
import os
import re
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import requests

from coursekit import contract
from coursekit.contract import ENV_API_KEY, ENV_DB, STAGES, run_contract
from coursekit.servers import ServerError, free_port, launch

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps"
WRITEFILE = re.compile(r"^%%(?:write)?file(?: -a)? +(\S+)\n")


def files_from_notebook(notebook, folder):
    """Write every %%writefile cell of a notebook into folder, in order (later cells overwrite)."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        match = WRITEFILE.match(cell.source) if cell.cell_type == "code" else None
        if match:
            target = folder / match.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(cell.source[match.end():] + "\n")


@dataclass(frozen=True)
class Implementation:
    """One implementation of the contract: where its files come from and how it is served."""
    id: str
    source: str          # "tests/apps" (files copied) or a notebook whose %%writefile cells hold it
    path: str            # the file launch() serves, relative to the folder the files land in
    kind: str            # a coursekit launch() kind
    app: str = "app"
    stages: tuple = STAGES

    def prepare(self, folder):
        if self.source == "tests/apps":
            for name in ("contract_core.py", self.path):
                shutil.copy(APPS / name, folder / name)
        else:
            files_from_notebook(ROOT / self.source, folder)
        return folder / self.path


@dataclass(frozen=True)
class DjangoProject(Implementation):
    """A Django project from a notebook: its files, then `makemigrations` as the notebook's cell
    runs it (migration files are made by Django, not written by cells); gunicorn.conf.py migrates.
    A starter's makemigrations may fail, as it does in the lab before exercise 8.1."""

    def prepare(self, folder):
        path = super().prepare(folder)
        subprocess.run([sys.executable, "manage.py", "makemigrations", "bookmarks"], cwd=path.parent,
                       env=dict(os.environ, **{ENV_DB: str(folder / "makemigrations.sqlite3")}),
                       capture_output=True, timeout=120, check=False)
        return path


IMPLEMENTATIONS = [
    Implementation("wsgi-gunicorn", "tests/apps", "contract_wsgi.py", "gunicorn"),
    Implementation("wsgi-wsgiref", "tests/apps", "contract_wsgi.py", "wsgiref"),
    Implementation("asgi-uvicorn", "tests/apps", "contract_asgi.py", "uvicorn"),
    Implementation("flask", "solutions/05-solution-flask.ipynb", "apps/bookmarks_app.py", "gunicorn",
                   app="create_app()"),
    Implementation("fastapi", "solutions/06-solution-fastapi.ipynb", "apps/fastapi_bookmarks.py", "uvicorn"),
    Implementation("aiohttp", "solutions/07-solution-aiohttp.ipynb", "apps/bookmarks_aiohttp.py", "aiohttp",
                   app="create_app"),
    DjangoProject("django", "solutions/08-solution-django.ipynb", "apps/bookmarks_site/wsgi.py", "gunicorn",
                  app="application"),
]
STARTERS = [
    Implementation("flask-starter", "labs/05-lab-flask.ipynb", "apps/bookmarks_app.py", "gunicorn",
                   app="create_app()"),
    Implementation("fastapi-starter", "labs/06-lab-fastapi.ipynb", "apps/fastapi_bookmarks.py", "uvicorn"),
    Implementation("aiohttp-starter", "labs/07-lab-aiohttp.ipynb", "apps/bookmarks_aiohttp.py", "aiohttp",
                   app="create_app"),
    DjangoProject("django-starter", "labs/08-lab-django.ipynb", "apps/bookmarks_site/wsgi.py", "gunicorn",
                  app="application"),
]


def serve(implementation, tmp_path, path=None):
    """Launch an implementation on a fresh database; return (server, key, db path, restart)."""
    path = path or implementation.prepare(tmp_path)
    db_path, key = tmp_path / "bookmarks.sqlite3", secrets.token_urlsafe(24)
    env = {ENV_DB: str(db_path), ENV_API_KEY: key}

    def start():
        return launch(path, implementation.kind, app=implementation.app, env=env,
                      name=f"contract-{implementation.id}", quiet=True, timeout=20)
    return start(), key, db_path, start


@pytest.mark.servers
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda i: i.id)
def test_implementation_keeps_every_clause(implementation, tmp_path):
    server, key, db_path, restart = serve(implementation, tmp_path)
    report = run_contract(server, key, implementation.stages, db_path=db_path, restart=restart)
    assert [o.clause.id for o in report.outcomes] == [c.id for c in contract.clauses(implementation.stages)]
    assert report.passed, f"{implementation.id} breaks the contract:\n{report}"


@pytest.mark.servers
@pytest.mark.parametrize("starter", STARTERS, ids=lambda i: i.id)
def test_lab_starter_breaks_the_contract_in_every_stage(starter, tmp_path):
    try:
        server, key, db_path, restart = serve(starter, tmp_path)
    except ServerError as error:  # a starter may stop at its own stub: that breaks every stage
        assert "NotImplementedError" in str(error) and "is not written yet" in str(error), (
            f"the starter fails to start for another reason than its stubs:\n{error}")
        return
    report = run_contract(server, key, db_path=db_path, restart=restart)
    failing = {o.clause.stage for o in report.failed}
    assert failing == set(STAGES), f"the starter passes every clause of {set(STAGES) - failing}:\n{report}"


# Each mutation is one plausible mistake in the hand-written WSGI version; the clause named must
# catch it (and so the suite is shown able to fail, clause by clause).
MUTATIONS = [
    ("routes.location", '[("Location", f"/api/bookmarks/{item[\'id\']}")]', "[]"),
    ("routes.list", "ORDER BY id LIMIT", "ORDER BY id DESC LIMIT"),
    ("routes.tag_filter", 'if "tag" in query:', "if False:"),
    ("routes.delete", 'return 204, [], b""', 'return 200, [], b"deleted"'),
    ("storage.sqlite_file", 'sqlite3.connect(os.environ["BOOKMARKS_DB"])', 'sqlite3.connect("bookmarks.db")'),
    ("storage.restart", 'sqlite3.connect(os.environ["BOOKMARKS_DB"])',
     'sqlite3.connect(os.environ["BOOKMARKS_DB"] + str(os.getpid()))'),
    ("errors.malformed_json", 'raise Problem(400, f"the body is not valid JSON: {error}") from None', "raise"),
    ("errors.content_type", 'raise Problem(415, "send the body as application/json")', "pass"),
    ("errors.invalid_url", 'parts.scheme in ("http", "https") and', "True and"),
    ("errors.body_shape", "if name not in FIELDS:", "if False:"),
    ("errors.patch_null", "if not isinstance(data[name], str) or not data[name].strip()",
     "if isinstance(data[name], str) and not data[name].strip()"),
    ("errors.field_values", "data = dict(data, tags=list(dict.fromkeys(tags)))", "pass"),
    ("errors.query", 're.fullmatch(r"[0-9]{1,9}", raw)', 're.fullmatch(r"\\d+", raw)'),
    ("errors.not_found", 'ITEM = re.compile(r"^/api/bookmarks/([0-9]{1,18})$")',
     'ITEM = re.compile(r"^/api/bookmarks/(\\d+)$")'),
    ("errors.method", 'headers=[("Allow", ", ".join(allowed))]', "headers=[]"),
    ("errors.too_large", 'if body is None:', "if False:"),
    ("auth.missing_key", '("WWW-Authenticate", \'Bearer realm="bookmarks"\')', '("X-Nothing", "1")'),
    ("auth.wrong_key", 'scheme.lower() == "bearer" and hmac.compare_digest', "hmac.compare_digest"),
    ("auth.scheme_case", 'scheme.lower() == "bearer"', 'scheme == "Bearer"'),
    ("routes.head", 'route("GET" if method == "HEAD" else method, path,', "route(method, path,"),
    ("html.nosniff", '("X-Content-Type-Options", "nosniff")', '("X-Nothing", "1")'),
    ("html.escaped", '{html.escape(item["title"])}', '{item["title"]}'),
    ("html.tag_links", 'href="?tag={html.escape(quote(t))}"', 'href="#"'),
]


def test_mutations_name_real_code():
    core = (APPS / "contract_core.py").read_text()
    stale = [clause_id for clause_id, before, _ in MUTATIONS if core.count(before) != 1]
    assert not stale, f"these mutations no longer match contract_core.py exactly once: {stale}"
    assert {c for c, _, _ in MUTATIONS} <= {c.id for c in contract.CLAUSES}


@pytest.mark.servers
@pytest.mark.parametrize("clause_id,before,after", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_clause_catches_its_mistake(clause_id, before, after, tmp_path):
    implementation = Implementation(f"mutant-{clause_id}", "tests/apps", "contract_wsgi.py", "gunicorn")
    path = implementation.prepare(tmp_path)
    core = tmp_path / "contract_core.py"
    core.write_text(core.read_text().replace(before, after))
    stage = clause_id.split(".")[0]
    server, key, db_path, restart = serve(implementation, tmp_path, path)
    report = run_contract(server, key, [stage], db_path=db_path, restart=restart)
    assert clause_id in {o.clause.id for o in report.failed}, f"{clause_id} missed the mistake:\n{report}"
    failed = next(o for o in report.failed if o.clause.id == clause_id)
    assert failed.expected and failed.got, "a failure says what was expected and what came back"


def test_clauses_have_unique_ids_stages_and_words():
    ids = [c.id for c in contract.CLAUSES]
    assert len(ids) == len(set(ids))
    assert {c.stage for c in contract.CLAUSES} == set(STAGES)
    for c in contract.CLAUSES:
        assert c.id.startswith(c.stage + ".") and len(c.description) > 20 and len(c.hint) > 20


def test_unknown_stage_is_refused_in_words():
    with pytest.raises(ValueError, match="the stages are routes, storage"):
        contract.clauses(["route"])


def test_a_dead_server_is_reported_in_words_not_raised():
    report = run_contract(f"http://127.0.0.1:{free_port()}/", "key", ["routes"])
    assert not report.passed and len(report.failed) == len(contract.clauses("routes"))
    assert "connection was refused" in str(report)
    assert str(report).endswith(f"0 of {len(report.outcomes)} clauses hold.")


def test_a_stuck_server_costs_two_timeouts_not_one_per_clause(monkeypatch):
    """A server that accepts connections and never answers: the runner gives up after two clauses."""
    import socket
    import time

    monkeypatch.setattr(contract, "REQUEST_SECONDS", 0.3)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(50)  # accepted by the kernel, never read or answered
        started = time.monotonic()
        report = run_contract(f"http://127.0.0.1:{listener.getsockname()[1]}/", "key", ["routes"])
        elapsed = time.monotonic() - started
    got = [o.got for o in report.failed]
    assert len(got) == len(contract.clauses("routes"))
    assert "did not answer in time" in got[0] and "did not answer in time" in got[1]
    assert all(g == "not tried: the server stopped answering in time" for g in got[2:])
    assert elapsed < 5, "it waited on every clause"


def answer(status, body, kind="application/json"):
    """A requests.Response as a server would send it, for the checks that read one."""
    import json

    response = requests.models.Response()
    response.status_code, response._content = status, json.dumps(body).encode()
    response.headers["Content-Type"] = kind
    return response


def test_an_error_may_list_every_bad_field_the_first_being_field():
    two = [{"field": "url", "message": "missing"}, {"field": "title", "message": "missing"}]
    body = {"error": "invalid_field", "message": "missing", "field": "url", "errors": two}
    assert contract.expect_error(answer(422, body), 422, "a POST", field="url") == body
    with pytest.raises(contract.ClauseFailed, match="the first naming"):
        contract.expect_error(answer(422, dict(body, errors=two[::-1])), 422, "a POST", field="url")
    with pytest.raises(contract.ClauseFailed, match="the first naming"):
        contract.expect_error(answer(422, dict(body, errors="url")), 422, "a POST", field="url")


def test_an_error_may_be_sent_as_problem_details_with_the_same_members():
    body = {"type": "about:blank", "title": "Not Found", "status": 404, "error": "not_found", "message": "no"}
    assert contract.expect_error(answer(404, body, "application/problem+json"), 404, "a GET")
    with pytest.raises(contract.ClauseFailed, match="error shape"):
        contract.expect_error(answer(404, {"type": "about:blank", "title": "Not Found"},
                                     "application/problem+json"), 404, "a GET")


def test_held_writes_make_a_read_modify_write_lose_every_time(tmp_path):
    """storage.concurrent holds the SQLite write lock in its first rounds, so a PATCH that reads the
    row, changes it in Python and writes it all back loses a concurrent change in each such round,
    however the machine's load spreads the requests (a busy CI host hid it 1 run in 10 before)."""
    import json
    import sqlite3
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    db_path = tmp_path / "rmw.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE bookmark (id INTEGER PRIMARY KEY, url TEXT, title TEXT)")

    class ReadModifyWrite(BaseHTTPRequestHandler):
        def do_PATCH(self):
            change = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with sqlite3.connect(db_path, timeout=5) as db:
                url, title = db.execute("SELECT url, title FROM bookmark WHERE id = 1").fetchone()
                row = {"url": url, "title": title, **change}
                db.execute("UPDATE bookmark SET url = ?, title = ? WHERE id = 1", (row["url"], row["title"]))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), ReadModifyWrite)
    Thread(target=server.serve_forever, daemon=True).start()
    probe = contract.Probe(f"http://127.0.0.1:{server.server_port}/", "key", db_path)
    try:
        for n in range(contract.HELD_ROUNDS):
            with sqlite3.connect(db_path) as db:
                db.execute("INSERT OR REPLACE INTO bookmark VALUES (1, 'https://example.org/old', 'Old')")
            wanted = {"url": f"https://example.org/{n}", "title": f"New {n}"}
            answers = probe.at_once_held([("PATCH", "/api/bookmarks/1", {"json": {name: value}})
                                          for name, value in wanted.items()])
            assert [a.status_code for a in answers] == [200, 200]
            with sqlite3.connect(db_path) as db:
                kept = dict(zip(("url", "title"), db.execute("SELECT url, title FROM bookmark").fetchone()))
            assert kept != wanted, f"round {n}: both changes kept, so the held lock did not line the reads up"
    finally:
        server.shutdown()
        server.server_close()
