"""A real JupyterHub on loopback with two students, as a class would run the course.

The hub (dummy login, SimpleLocalProcessSpawner, the Python configurable-http-proxy) starts each
student's JupyterLab server through its REST API. The test then drives each server's kernels over
the kernel websocket, exactly as JupyterLab does, runs lesson 04 and every lab's solution there
(each check passing, with the proxy prefix that JupyterHub gives every server), and opens the
servers those kernels launch through the hub's public URL (/user/NAME/proxy/PORT/). Every port is
picked by the OS; each student works in a copy of the course of their own.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import psutil
import pytest
import requests

from kernel_client import KernelClient
from test_labs import SOLUTIONS, exercises_in

pytestmark = [pytest.mark.servers, pytest.mark.hub,
              pytest.mark.skipif(os.name == "nt", reason="JupyterHub's local spawner is POSIX-only")]

ROOT = Path(__file__).resolve().parent.parent
APPS = Path(__file__).resolve().parent / "apps" / "hub"
BIN = Path(sys.executable).parent  # the course's .venv: jupyterhub, the proxy, the single-user server
STUDENTS = ("ada", "grace")
TOKEN = uuid.uuid4().hex
MARK = "COURSEKIT_HUB_TEST"  # every process the hub starts carries this, so the test can find them
CELL_SECONDS = 300
HUB_CONFIG = """
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {public}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {folder!r} + "/proxy.pid"
c.JupyterHub.db_url = "sqlite:///" + {folder!r} + "/hub.sqlite"
c.JupyterHub.cookie_secret_file = {folder!r} + "/cookie_secret"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {folder!r} + "/home/{{username}}"
c.Spawner.cmd = [{singleuser!r}]
c.Spawner.args = {args!r}
c.Spawner.env_keep = ["PATH", "LANG", "LC_ALL", "VIRTUAL_ENV", {mark!r}, {run_id!r}]
# Kernels' Unix sockets live in the runtime folder: a short path (a socket path has ~100 bytes).
c.Spawner.environment = {{"JUPYTER_RUNTIME_DIR": lambda spawner: {folder!r} + "/rt-" + spawner.user.name}}
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.JupyterHub.services = [{{"name": "course-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{"name": "course-test", "services": ["course-test"],
                            "scopes": ["admin:users", "admin:servers", "access:servers"]}}]
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Hub:
    """A JupyterHub process in a folder of its own; stop() ends it and everything it started."""

    def __init__(self, folder, server_args=()):
        self.folder, self.mark = folder, uuid.uuid4().hex
        self.public, self.hub, self.api = free_port(), free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.public}"
        self.log_path = folder / "hub.log"
        args = ["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []
        # Kernels talk over Unix sockets, as in the rest of the suite (tests/conftest.py says why).
        args.append("--KernelManager.transport=ipc")
        args += server_args  # extra single-user server settings (tests of one behaviour)
        (folder / "jupyterhub_config.py").write_text(HUB_CONFIG.format(
            public=self.public, hub=self.hub, api=self.api, folder=str(folder),
            proxy=str(BIN / "configurable-http-proxy"), singleuser=str(BIN / "jupyterhub-singleuser"),
            args=args, mark=MARK, run_id="COURSEKIT_TEST_RUN", token=TOKEN))
        env = dict(os.environ, **{MARK: self.mark})
        env.pop("JUPYTERHUB_SERVICE_PREFIX", None)  # the suite may itself run on a hub
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(folder / "jupyterhub_config.py")], cwd=folder,
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while self.process.poll() is None and time.monotonic() < deadline:
            try:
                if self.api_get("").status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        if self.process.poll() is None:
            self.stop()
            raise AssertionError(f"the hub did not answer within 60 s:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace")[-4000:]

    def wait_until(self, ready, seconds, what):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the hub exited:\n{self.log()}"
            try:
                if ready():
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.log()}")

    def headers(self):
        return {"Authorization": f"token {TOKEN}"}

    def api_get(self, path):
        return requests.get(f"{self.url}/hub/api/{path}", headers=self.headers(), timeout=10)

    def api_post(self, path, **kwargs):
        return requests.post(f"{self.url}/hub/api/{path}", headers=self.headers(), timeout=30,
                             **kwargs)

    def start_servers(self, names):
        """Create the users and start their servers at once; return when every one is ready."""
        assert self.api_post("users", json={"usernames": list(names)}).status_code == 201
        for name in names:
            answer = self.api_post(f"users/{name}/server")
            assert answer.status_code in (201, 202), answer.text
        for name in names:
            self.wait_until(lambda: self.api_get(f"users/{name}").json()["servers"][""]["ready"],
                            120, f"{name}'s server")

    def processes(self):
        """Every live process that the hub started (its proxy, servers, kernels and theirs)."""
        found = []
        for proc in psutil.process_iter(["environ"]):
            try:
                if (proc.info["environ"] or {}).get(MARK) == self.mark and \
                        proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except psutil.Error:
                pass
        return found

    def stop(self):
        """Stop the hub as an admin would (SIGTERM); return what was still alive 30 s later."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 30  # watchdogs stop kernels' servers once kernels are gone
        left = self.processes()
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = self.processes()
        described = []
        for proc in left:  # never leave them behind, even when the test fails
            try:
                described.append(f"pid {proc.pid}: {' '.join(proc.cmdline())}")
                proc.kill()
            except psutil.Error:
                pass
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        return described


def auth():
    return {"Authorization": f"token {TOKEN}"}


def course_copy(home):
    """A student's own copy of the course (their apps/ folders never meet another student's)."""
    for folder in ("notebooks", "solutions", "labs", "img"):
        shutil.copytree(ROOT / folder, home / folder,
                        ignore=shutil.ignore_patterns("apps", ".ipynb_checkpoints", "__pycache__"))


@pytest.fixture(scope="module")
def hub():
    # A short path: kernels' Unix socket paths are built from it (pytest's tmp_path is too long).
    folder = Path(tempfile.mkdtemp(prefix="hub-"))
    for name in STUDENTS:
        course_copy(folder / "home" / name)
    hub = None
    try:
        for attempt in range(3):  # a port the OS offered may be taken before the hub binds it
            hub = Hub(folder)
            if hub.process.poll() is None or "address already in use" not in hub.log().lower():
                break
        assert hub.process.poll() is None, f"the hub did not start:\n{hub.log()}"
        hub.start_servers(STUDENTS)
        yield hub
    finally:
        if hub is not None:
            hub.stop()
        shutil.rmtree(folder, ignore_errors=True)


def student_url(hub, name):
    return f"{hub.url}/user/{name}/"


def both(function):
    """Run function(name) for both students at the same time; return {name: result}."""
    with ThreadPoolExecutor(len(STUDENTS)) as pool:
        futures = {name: pool.submit(function, name) for name in STUDENTS}
        return {name: future.result() for name, future in futures.items()}


def expects_error(cell):
    return "raises-exception" in cell.metadata.get("tags", []) or \
        "NBVAL_RAISES_EXCEPTION" in cell.source


def ignores_output(cell):
    return "nbval-ignore-output" in cell.metadata.get("tags", []) or \
        "NBVAL_IGNORE_OUTPUT" in cell.source


STATUS = re.compile(r"HTTP/1\.[01] \d{3}")


def run_notebook(hub, name, notebook, setup=""):
    """Run a notebook's code cells in order in the student's server; return the first unexpected
    error as 'cell N: Name: message' (None if there was none)."""
    kernel = KernelClient(student_url(hub, name), notebook, TOKEN)
    try:
        if setup:
            assert kernel.run(setup)[1] is None
        cells = nbformat.read(hub.folder / "home" / name / notebook, as_version=4).cells
        for number, cell in enumerate(cells):
            if cell.cell_type != "code":
                continue
            stdout, error = kernel.run(cell.source)
            where = f"cell {number} ({cell.source.splitlines()[0][:60]})"
            if error and not expects_error(cell):
                return f"{where}: {error}"
            # A 404 that a cell only prints raises nothing: compare the HTTP status lines that
            # the stored output shows (the rest may rightly differ behind a proxy).
            stored = "".join(o.get("text", "") for o in cell.get("outputs", [])
                             if o.get("name") == "stdout")
            if not ignores_output(cell) and STATUS.findall(stored) != STATUS.findall(stdout):
                return f"{where}: printed {STATUS.findall(stdout)}, stored {STATUS.findall(stored)}"
        return None
    finally:
        kernel.run("from coursekit import stop_all\nstop_all()", 60)
        kernel.close()


def test_each_student_has_a_server_of_their_own(hub):
    """Two users, two servers: each under its own prefix, on its own port, in its own folder."""
    seen = {}
    for name in STUDENTS:
        model = hub.api_get(f"users/{name}").json()["servers"][""]
        assert model["ready"] and model["url"] == f"/user/{name}/"
        contents = requests.get(f"{student_url(hub, name)}api/contents/notebooks", headers=auth(),
                                timeout=30)
        assert contents.status_code == 200, contents.text
        lab = requests.get(f"{student_url(hub, name)}lab", headers=auth(), timeout=30)
        assert lab.status_code == 200 and "JupyterLab" in lab.text
        seen[name] = model["state"]["pid"]
    assert len(set(seen.values())) == len(STUDENTS)


def test_lesson_04_runs_behind_the_hub(hub):
    errors = both(lambda name: run_notebook(hub, name, "notebooks/04-asgi-by-hand.ipynb"))
    assert errors == {name: None for name in STUDENTS}, (
        "lesson 04 fails behind JupyterHub (the usual cause: a raw ASGI app routes on "
        "scope['path'] without removing scope['root_path'], so it answers 404 once uvicorn "
        "gets --root-path; see test_launched_servers_open_through_the_hub):\n"
        + "\n".join(f"{name}: {error}" for name, error in errors.items()))


# Set up before a solution runs: its checks record each result, and servers get the hub's prefix.
SOLUTION_SETUP = """
import os
from coursekit.urls import proxied
assert proxied()[0], proxied()[1]
os.environ['COURSEKIT_CHECK_RECORD'] = {record!r}
"""


def run_solutions(hub, name):
    """Run every lab's solution in the student's server, one after another, as a student would;
    return what went wrong, one line each (an empty list when every check of every lab passed)."""
    problems = []
    for solution in SOLUTIONS:
        record = hub.folder / "home" / name / f"{solution.stem}-record.jsonl"
        error = run_notebook(hub, name, f"solutions/{solution.name}",
                             SOLUTION_SETUP.format(record=str(record)))
        if error:
            problems.append(f"{name}, {solution.name}, {error}")
        lines = record.read_text().splitlines() if record.exists() else []
        checks = {entry["exercise"]: entry for entry in map(json.loads, lines)}
        for number in exercises_in(nbformat.read(solution, as_version=4)):
            entry = checks.get(number, {"passed": 0, "total": 0, "report": "(no check result recorded)"})
            if not entry["total"] or entry["passed"] != entry["total"]:
                failed = [line.strip() for line in entry["report"].splitlines()
                          if line.strip().startswith("✘") and "checks passed" not in line]
                problems.append(f"{name}, exercise {number}: {entry['passed']} of {entry['total']} "
                                f"checks passed: " + ("; ".join(failed) or entry["report"][-300:]))
    return problems


def test_every_lab_solution_passes_every_check_behind_the_hub(hub):
    """Each student runs every solution in their own server at the same time (issue 20)."""
    problems = both(lambda name: run_solutions(hub, name))
    assert not any(problems.values()), (
        "solutions fail their own checks behind JupyterHub (the usual cause: a check follows a "
        "link or Location that carries the proxy prefix without coursekit.urls.on_server):\n"
        + "\n".join(line for lines in problems.values() for line in lines))


class Links(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found += [value for key, value in attrs if key in ("href", "src")]


LAUNCH = """
import json, shutil
from pathlib import Path
from coursekit import launch
shutil.copytree({apps!r}, "apps/hub", dirs_exist_ok=True)
servers = {{
    "asgi": launch("apps/hub/routes_asgi.py", kind="uvicorn", quiet=True),
    "naive": launch("apps/hub/routes_asgi_naive.py", kind="uvicorn", quiet=True),
    "flask": launch("apps/hub/links_flask.py", kind="flask", quiet=True),
    "fastapi": launch("apps/hub/docs_fastapi.py", kind="uvicorn", quiet=True),
}}
print(json.dumps({{kind: server.port for kind, server in servers.items()}}))
"""


def test_launched_servers_open_through_the_hub(hub):
    """What a student clicks: /user/NAME/proxy/PORT/... on the hub's public address, both at once."""
    def launch_all(name):
        kernel = KernelClient(student_url(hub, name), "notebooks/00-welcome.ipynb", TOKEN)
        out, error = kernel.run(LAUNCH.format(apps=str(APPS)))
        assert error is None, f"{name}: {error}"
        return kernel, json.loads(out.strip().splitlines()[-1])

    started = both(launch_all)
    try:
        ports = [port for _, found in started.values() for port in found.values()]
        assert len(set(ports)) == len(ports), "two servers share a port"
        both(lambda name: check_through_the_hub(hub, name, started[name][1]))
    finally:
        for kernel, _ in started.values():
            kernel.run("from coursekit import stop_all\nstop_all()", 60)
            kernel.close()


def check_through_the_hub(hub, name, ports):
    def get(path, **kwargs):
        answer = requests.get(hub.url + path, headers=auth(), timeout=30, **kwargs)
        return answer

    # A raw ASGI app with routes, written as the ASGI spec says (strip root_path before routing).
    prefix = f"/user/{name}/proxy/{ports['asgi']}"
    hello = get(f"{prefix}/hello")
    assert hello.status_code == 200, f"{name}: {hello.status_code} {hello.text}"
    seen = hello.json()
    assert seen["route"] == "/hello" and seen["page"] == "hello"
    # Whatever root_path the server is given, the full path is root_path + route (ASGI spec).
    assert seen["path"] == seen["root_path"] + "/hello"
    assert get(f"{prefix}/").json()["page"] == "home"
    assert get(f"{prefix}/no/such/page").status_code == 404

    # The same routes, ignoring root_path: right only when the server passes no root path.
    naive = get(f"/user/{name}/proxy/{ports['naive']}/hello")
    assert naive.status_code == (404 if seen["root_path"] else 200), naive.text

    # Flask: url_for builds links that go back through the proxy, and they work.
    prefix = f"/user/{name}/proxy/{ports['flask']}"
    page = get(f"{prefix}/")
    assert page.status_code == 200, page.text
    links = Links(page.text).found
    assert sorted(links) == [f"{prefix}/about", f"{prefix}/static/course.css"], links
    assert get(links[0]).text == "about this page"
    # A redirect to a bare path leaves the student's server: the proxy passes Location on as it is,
    # which is why the course's apps build every Location with the prefix (url_for, reverse).
    moved = get(f"{prefix}/go-plain")
    assert not moved.url.startswith(f"{hub.url}{prefix}/"), moved.url
    assert "color: teal" in get(f"{prefix}/static/course.css").text

    # FastAPI: /docs points at openapi.json through the proxy, which answers; static files too.
    prefix = f"/user/{name}/proxy/{ports['fastapi']}"
    docs = get(f"{prefix}/docs")
    assert docs.status_code == 200, docs.text
    spec_url = re.search(r"url: '([^']+)'", docs.text)
    assert spec_url and spec_url[1] == f"{prefix}/openapi.json", docs.text[:2000]
    spec = get(spec_url[1])
    assert spec.status_code == 200 and spec.json()["info"]["title"] == "hub test"
    assert get(f"{prefix}/items/7").json() == {"number": 7}
    assert "color: teal" in get(f"{prefix}/static/course.css").text


def test_a_redirect_to_url_for_opens_through_the_hub(hub):
    """A redirect to url_for() in Flask (or reverse() in Django with FORCE_SCRIPT_NAME) carries the
    prefix, and the proxy must pass it on as it is. jupyter-server-proxy 4.5 and 4.6 put their prefix
    in front of it a second time (jupyterhub/jupyter-server-proxy#574), which is why the lock pins 4.4."""
    kernel = KernelClient(student_url(hub, "ada"), "notebooks/00-welcome.ipynb", TOKEN)
    try:
        out, error = kernel.run(REDIRECTING.format(apps=str(APPS)))
        if error:  # not the expected failure: it must not pass as one
            raise RuntimeError(error)
        prefix = f"/user/ada/proxy/{out.strip().splitlines()[-1]}"
        moved = requests.get(f"{hub.url}{prefix}/go", headers=auth(), timeout=30)
        assert moved.url == f"{hub.url}{prefix}/about" and moved.status_code == 200, moved.url
    finally:
        kernel.run("from coursekit import stop_all\nstop_all()", 60)
        kernel.close()


REDIRECTING = """
import shutil
from coursekit import launch
shutil.copytree({apps!r}, "apps/hub", dirs_exist_ok=True)
print(launch("apps/hub/links_flask.py", kind="flask", quiet=True).port)
"""


PRIVATE_APP = """
from pathlib import Path
from coursekit import launch
Path("apps/hub").mkdir(parents=True, exist_ok=True)
Path("apps/hub/private_wsgi.py").write_text(
    "def app(environ, start_response):\\n"
    "    start_response('200 OK', [('Content-Type', 'text/plain')])\\n"
    "    return [b'ada\\\\'s bookmarks: https://example.org/private']\\n")
print(launch("apps/hub/private_wsgi.py", kind="wsgiref", quiet=True).port)
"""

READ_FROM_ANOTHER_KERNEL = """
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:{port}/", timeout=10).read().decode())
"""

# The same request from a process in a network namespace of its own (what a container spawner
# gives each student): its 127.0.0.1 is not the host's, so nothing of ada's is there.
READ_FROM_OWN_NAMESPACE = """
import subprocess, sys
probe = "import socket; s = socket.socket(); s.settimeout(5); print(s.connect_ex(('127.0.0.1', {port})))"
done = subprocess.run(["unshare", "--net", sys.executable, "-c", probe], capture_output=True, text=True, timeout=30)
print(done.returncode, done.stdout.strip() or done.stderr.strip()[-200:])
"""


def test_on_one_host_a_student_reads_another_students_server(hub):
    """The risk the README states: students on one host share loopback. ada runs a server; grace's
    kernel reads it at 127.0.0.1, with nothing but the port number (which ports listen is public).
    In a network namespace of its own, the same request finds nothing (where unshare is allowed)."""
    ada = KernelClient(student_url(hub, "ada"), "notebooks/00-welcome.ipynb", TOKEN)
    grace = KernelClient(student_url(hub, "grace"), "notebooks/00-welcome.ipynb", TOKEN)
    try:
        out, error = ada.run(PRIVATE_APP)
        assert error is None, error
        port = int(out.strip().splitlines()[-1])
        out, error = grace.run(READ_FROM_ANOTHER_KERNEL.format(port=port), 60)
        assert error is None and "ada's bookmarks" in out, (out, error)
        out, error = grace.run(READ_FROM_OWN_NAMESPACE.format(port=port), 60)
        assert error is None, error
        code, said = out.strip().split(" ", 1)
        if code != "0":
            pytest.skip(f"no network namespace here (unshare --net: {said}); the risk above stands")
        assert said != "0", "a process in its own network namespace still reached ada's server"
    finally:
        for kernel in (ada, grace):
            kernel.run("from coursekit import stop_all\nstop_all()", 60)
            kernel.close()


# What deploy/z2jh/values.yaml gives the single-user server (an hour there; seconds here).
CULLING = ["--MappingKernelManager.cull_idle_timeout=6", "--MappingKernelManager.cull_interval=2",
           "--MappingKernelManager.cull_connected=False"]


def test_a_culled_idle_kernel_stops_the_servers_it_launched():
    """Kernel culling, as deploy/z2jh/values.yaml configures it, ends a forgotten lab's servers:
    the student closes the tab, the idle kernel is culled, and its server's port closes."""
    folder = Path(tempfile.mkdtemp(prefix="hub-"))
    course_copy(folder / "home" / "lin")
    hub = Hub(folder, server_args=CULLING)
    try:
        hub.start_servers(["lin"])
        kernel = KernelClient(student_url(hub, "lin"), "notebooks/00-welcome.ipynb", TOKEN)
        out, error = kernel.run(REDIRECTING.format(apps=str(APPS)))
        assert error is None, error
        port = int(out.strip().splitlines()[-1])
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            pass  # it answers while the kernel lives
        kernel.closing.close()  # the tab is closed; the session (and kernel) stay

        def port_closed():
            with socket.socket() as sock:
                sock.settimeout(2)
                return sock.connect_ex(("127.0.0.1", port)) != 0

        def no_kernels():  # the server stops while the kernel shuts down; then the kernel goes
            return requests.get(f"{student_url(hub, 'lin')}api/kernels", headers=auth(), timeout=30).json() == []

        hub.wait_until(port_closed, 120, f"the culled kernel's server on port {port} to stop")
        hub.wait_until(no_kernels, 60, "the idle kernel to be culled")
    finally:
        left = hub.stop()
        shutil.rmtree(folder, ignore_errors=True)
    assert not left, "still running after the hub stopped:\n" + "\n".join(left)


def test_nothing_is_left_running_after_the_hub_stops(hub):
    assert hub.processes(), "the hub's own processes should be running before it stops"
    left = hub.stop()
    assert not left, "still running after the hub stopped:\n" + "\n".join(left)
    for port in (hub.public, hub.hub, hub.api):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listens"
