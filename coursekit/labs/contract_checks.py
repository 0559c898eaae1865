"""What the framework labs (05-08) check the same way: the student's app served on a fresh SQLite
file and a random key, one stage of coursekit.contract as one part per clause, and how require_key()
compares the key. Each lab keeps its framework's own checks in its own module."""
import ast
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

from coursekit.checks import CheckFailed
from coursekit.contract import ENV_API_KEY, ENV_DB, run_contract
from coursekit.servers import Server, launch

KEY_HINT = ("== stops at the first wrong character, so its timing leaks the key; "
            "hmac.compare_digest takes the same time for every guess.")


class Served(NamedTuple):
    server: Server
    key: str
    db_path: Path
    restart: Callable[[], Server]


def source_of(path) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def function_in(path, name: str, expected: str = "") -> ast.AST:
    """The ast of a top-level function (def or async def) in the student's file, or a plain failure."""
    for node in ast.parse(source_of(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    raise CheckFailed(expected or f"a function {name}() in {path}", "none")


STALE_SECONDS = 3600  # a database left by a check that never finished (a killed kernel, say)


def data_folder() -> Path:
    """apps/check-data (git-ignored; absolute, since servers chdir), without stale databases.

    Only old leftovers are removed: another check may be running in this folder right now (a
    second kernel on the same notebook), and its database must stay."""
    folder = (Path("apps") / "check-data").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("bookmarks-*.sqlite3*"):
        try:
            if time.time() - old.stat().st_mtime > STALE_SECONDS:
                old.unlink()
        except OSError:
            pass
    return folder


def remove_database(db_path: Path) -> None:
    """Remove a check's SQLite file and its journal files."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)


def fresh_env(t=None, **extra) -> dict:
    """A fresh SQLite file and API key (plus `extra`), for one check's server; with `t`, the file is
    removed once the exercise is over (after its servers have stopped)."""
    db_path = data_folder() / f"bookmarks-{secrets.token_hex(4)}.sqlite3"
    if t is not None:
        t.cleanups.append(lambda: remove_database(db_path))
    return {ENV_DB: str(db_path), ENV_API_KEY: secrets.token_urlsafe(24), **extra}


def serve(t, path, how: str, app=None, env=None, restart_seconds: float = 30,
          ready: Callable[[Server], Server] = lambda server: server, args=()) -> Served:
    """The student's app, launched `how` (gunicorn, uvicorn, aiohttp) on `env` (default: fresh_env()),
    with a restart() on the same database and key; `ready` runs on each new server before use.
    `args` go to the server's command line (gunicorn's --threads, say)."""
    env = env or fresh_env(t)
    options = {"app": app} if app else {}
    if args:
        options["args"] = list(args)
    server = ready(t.launch(path, how, env=env, **options))

    def restart():
        again = launch(path, how, env=env, name=server.name, timeout=restart_seconds, quiet=True, **options)
        t.servers.append(again)
        return ready(again)
    return Served(server, env[ENV_API_KEY], Path(env[ENV_DB]), restart)


def contract_stage(t, stages, served: Served) -> None:
    """One part per clause of the stage(s), each saying what the contract expects and what came back."""
    stages = [stages] if isinstance(stages, str) else list(stages)
    server, key, db_path, restart = served
    report = run_contract(server, key, stages, db_path=db_path, restart=restart)
    for outcome in report.outcomes:
        with t.part(outcome.clause.description, hint=outcome.clause.hint):
            if not outcome.passed:
                raise CheckFailed(outcome.expected, outcome.got)


def key_compared_safely(t, find: Callable[[], ast.AST], names: str, who: str = "hmac.compare_digest") -> None:
    """The part: require_key() (found by `find`) calls compare_digest and compares nothing that
    matches the regex `names` with ==, !=, in or not in (the request's method may be compared)."""
    with t.part(f"require_key() compares keys with {who}, never ==", hint=KEY_HINT):
        node = find()
        calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)
                 and getattr(n.func, "attr", getattr(n.func, "id", "")) == "compare_digest"]
        plain = [ast.unparse(n) for n in ast.walk(node) if isinstance(n, ast.Compare)
                 and any(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in n.ops)
                 and re.search(names, ast.unparse(n)) and not re.search(r"\bmethod\b", ast.unparse(n))]
        t.expect(calls and not plain, f"{who}(...) and no == on the key",
                 f"== in: {plain[0]}" if plain else "no call to compare_digest")


def no_key_in_code(t, find: Callable[[], ast.AST], not_keys: set, title: str, hint: str) -> None:
    """The part: no key-like string (6+ characters, no space, not a known word) in require_key()."""
    with t.part(title, hint=hint):
        allowed = {word.lower() for word in not_keys}
        literals = [n.value for n in ast.walk(find()) if isinstance(n, ast.Constant)
                    and isinstance(n.value, str) and len(n.value) >= 6 and " " not in n.value
                    and n.value.lower() not in allowed]
        t.expect(not literals, "no key-like string in require_key()", repr(literals[0]) if literals else "")


def key_from_env_accepted(t, served: Served, hint: str) -> None:
    """The part: a write with the key the server was started with is accepted (201)."""
    with t.part(f"a write with the key from {ENV_API_KEY} is accepted", hint=hint):
        response = served.server.post("/api/bookmarks", json={"url": "https://example.org/", "title": "Key"},
                                      headers={"Authorization": f"Bearer {served.key}"})
        t.expect(response.status_code == 201, "201", str(response.status_code))


TEST_SECONDS = 60  # one pytest run of a student's test file (5.6, 6.7, 7.8)


def student_pytest(t, lab, plugin_source, test_file, ini="[pytest]\n", missing=None, drop=()):
    """For the test-writing exercises: a function that runs the student's pytest file in a pytest
    of its own (not the course's settings), with a small plugin that writes what it saw to a
    report. It returns (exit code, pytest's summary line, the end of its output, the report).
    The store's environment points at a file that cannot exist, so the test must bring its own."""
    folder = data_folder()
    report = folder / f"{lab}-pytest-report-{secrets.token_hex(4)}.json"  # another run may share the folder
    t.cleanups.append(lambda: report.unlink(missing_ok=True))
    (folder / f"{lab}_plugin.py").write_text(plugin_source)
    (folder / f"{lab}-pytest.ini").write_text(ini)

    def run(**extra):
        env = dict(os.environ, **extra, **{f"{lab.upper()}_REPORT": str(report)},
                   PYTHONPATH=os.pathsep.join([str(folder), str(Path("apps").resolve())]))
        env[ENV_DB] = str(folder / "no-such-folder" / "never.sqlite3")
        for name in ("COURSEKIT_CHECK_RECORD", *drop):
            env.pop(name, None)
        report.unlink(missing_ok=True)
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-p", f"{lab}_plugin", "-c", str(folder / f"{lab}-pytest.ini"),
                               "--rootdir", str(folder), test_file],
                              capture_output=True, text=True, timeout=TEST_SECONDS, env=env)
        summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
        found = json.loads(report.read_text()) if report.exists() else dict(missing or {"collected": 0})
        return done.returncode, summary, done.stdout[-1500:], found
    return run
