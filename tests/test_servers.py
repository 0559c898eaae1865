"""The launcher: every kind of server starts on a free port, fails clearly, and leaves nothing behind."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import psutil
import pytest
import requests

from coursekit import servers
from coursekit.servers import ServerError, launch, port_is_listening

pytestmark = pytest.mark.servers

KINDS = [
    ("raw_socket.py", "script", "socket"),
    ("hello_wsgi.py", "wsgiref", "wsgi"),
    ("hello_wsgi.py", "gunicorn", "wsgi"),
    ("hello_asgi.py", "uvicorn", "asgi"),
    ("hello_flask.py", "flask", "flask"),
    ("hello_fastapi.py", "uvicorn", "fastapi"),
    ("hello_aiohttp.py", "aiohttp", "aiohttp"),
    ("djangosite/manage.py", "django", "django"),
]


def children(pid, count, timeout=30):
    """The process's descendants, once there are `count` (a gunicorn master answers before it has
    forked every worker)."""
    deadline = time.monotonic() + timeout
    found = psutil.Process(pid).children(recursive=True)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.02)
        found = psutil.Process(pid).children(recursive=True)
    return found


def gone(pid, timeout=30):
    """True once the process has exited (or is a zombie nobody has reaped yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("file,kind,body", KINDS, ids=[f"{k}-{f.split('.')[0]}" for f, k, _ in KINDS])
def test_every_kind_serves_on_loopback_and_stops_cleanly(app_file, file, kind, body):
    path = app_file(file.split("/")[0])
    if "/" in file:
        path = path / file.split("/")[1]
    server = launch(path, kind, quiet=True)
    assert server.url == f"http://127.0.0.1:{server.port}/"
    response = server.get("/")
    assert (response.status_code, response.text) == (200, body)
    family = [server.process.pid] + [c.pid for c in psutil.Process(server.process.pid).children(True)]
    server.stop()
    assert not port_is_listening(server.port)
    assert all(gone(pid) for pid in family)


def test_gunicorn_opens_no_control_socket_in_the_students_home(app_file, tmp_path):
    """gunicorn 27 would share ~/.gunicorn/gunicorn.ctl among all of a student's servers."""
    home = tmp_path / "home"
    home.mkdir()
    server = launch(app_file("hello_wsgi.py"), "gunicorn", env={"HOME": str(home)}, quiet=True)
    assert server.get("/").text == "wsgi"
    server.stop()  # gunicorn opens the socket from a thread after it listens; its folder stays
    assert "Control socket" not in server.log_path.read_text()
    assert not (home / ".gunicorn").exists(), "gunicorn made a control socket in HOME"


def test_gunicorn_serves_an_aiohttp_app_with_aiohttps_worker_class(app_file):
    """The kind check steps aside when a worker class decides what gunicorn serves (lesson 07)."""
    server = launch(app_file("hello_aiohttp.py"), "gunicorn", quiet=True,
                    args=["--worker-class", "aiohttp.worker.GunicornWebWorker"])
    assert server.get("/").text == "aiohttp"


def test_gunicorn_is_ready_only_once_a_worker_has_loaded_the_app(tmp_path):
    """gunicorn's master says "Listening at:" before its workers load the app; launch() returned
    then, and a check's first request waited out a busy machine's worker start (solution 05's
    check 5.5 failed so once). The factory here takes 2 s: launch() must wait for it."""
    app = tmp_path / "slow_factory.py"
    app.write_text(textwrap.dedent("""\
        import sys
        import time


        def create_app():
            time.sleep(2)
            print("factory done", file=sys.stderr, flush=True)

            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"ready"]
            return app
        """))
    server = launch(app, "gunicorn", app="create_app()", quiet=True)
    try:
        assert "factory done" in server.log_path.read_text(), "launch() returned before the app was loaded"
        assert server.get("/").text == "ready"
    finally:
        server.stop()


@pytest.mark.parametrize("kind,how,args", [("gunicorn", "create_app()", []),
                                           ("uvicorn", "create_app", ["--factory"])])
def test_a_factory_the_server_calls_itself_is_served(tmp_path, kind, how, args):
    """A zero-argument factory was refused as "an app factory, which kind='gunicorn' cannot serve"
    even though gunicorn calls create_app() and uvicorn --factory calls create_app itself."""
    app = tmp_path / "factory_app.py"
    body = ("def app(environ, start_response):\n"
            "    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'made']\n"
            if kind == "gunicorn" else
            "async def app(scope, receive, send):\n"
            "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
            "    await send({'type': 'http.response.body', 'body': b'made'})\n")
    app.write_text("def create_app():\n" + textwrap.indent(body, "    ") + "    return app\n")
    server = launch(app, kind, app=how, args=args, quiet=True)
    try:
        assert server.get("/").text == "made"
    finally:
        server.stop()


def test_a_factory_not_marked_as_one_is_refused_with_the_way_to_launch_it(tmp_path):
    app = tmp_path / "factory_app.py"
    app.write_text("def create_app():\n    return None\n")
    with pytest.raises(ServerError, match=r"launch it with app='create_app\(\)'"):
        launch(app, "gunicorn", app="create_app", quiet=True)


def test_wait_for_log_can_wait_for_every_worker(app_file):
    """launch() returns once one gunicorn worker has loaded the app; a check that needs both
    (lab 10's one-cache-per-worker) waits for the second "Worker ready:" line."""
    server = launch(app_file("hello_wsgi.py"), "gunicorn", args=["--workers", "2"], quiet=True)
    try:
        second = server.wait_for_log("Worker ready:", timeout=60, count=2)
        ready = [line for line in server.log_path.read_text().splitlines() if "Worker ready:" in line]
        assert len(ready) >= 2 and second == ready[1]
        with pytest.raises(ServerError, match="3 times"):
            server.wait_for_log("Worker ready:", timeout=0.2, count=3)
    finally:
        server.stop()


def test_gunicorn_workers_die_with_their_master(app_file):
    server = launch(app_file("hello_wsgi.py"), "gunicorn", args=["--workers", "3"], quiet=True)
    workers = children(server.process.pid, 3)
    assert len(workers) == 3
    server.stop()
    assert all(gone(w.pid) for w in workers)
    assert not port_is_listening(server.port)


def test_two_servers_launched_in_parallel_get_different_ports(app_file):
    path = app_file("hello_wsgi.py")
    started = {}

    def start(name):
        started[name] = launch(path, "wsgiref", name=name, quiet=True)

    threads = [threading.Thread(target=start, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert started["a"].port != started["b"].port
    assert started["a"].get("/").text == started["b"].get("/").text == "wsgi"


def test_relaunching_the_same_name_restarts_cleanly(app_file):
    path = app_file("hello_wsgi.py")
    first = launch(path, "wsgiref", quiet=True)
    second = launch(path, "wsgiref", quiet=True)
    assert gone(first.process.pid) and not port_is_listening(first.port)
    assert second.get("/").status_code == 200
    assert servers.running() == [second]


def test_syntax_error_is_reported_with_the_students_traceback(app_file):
    started = time.monotonic()
    with pytest.raises(ServerError) as error:
        launch(app_file("broken_syntax.py"), "wsgiref", timeout=60)
    message = str(error.value)
    assert time.monotonic() - started < 20, "named when the server exited, not at the deadline"
    assert "exited with code 1" in message
    assert 'File "broken_syntax.py", line 2' in message and "SyntaxError" in message
    assert "run.py" not in message  # the toolkit's own frames are hidden from the student


def test_server_that_exits_at_once_shows_why(app_file):
    with pytest.raises(ServerError, match="configuration missing: giving up"):
        launch(app_file("exits_at_once.py"), "script", timeout=10)


def test_server_that_never_binds_fails_within_the_deadline(app_file):
    started = time.monotonic()
    with pytest.raises(ServerError, match="did not answer on port") as error:
        launch(app_file("never_binds.py"), "script", timeout=1.5)
    assert 1.5 <= time.monotonic() - started < 15
    assert "starting, but never listening" in str(error.value)
    assert servers.running() == []


def test_server_on_the_wrong_port_is_told_which_port_to_use_at_once(app_file):
    started = time.monotonic()
    with pytest.raises(ServerError) as error:
        launch(app_file("wrong_port.py"), "script", timeout=60)
    message = str(error.value)
    assert "wrong_port is listening on port" in message and "PORT environment variable" in message
    assert time.monotonic() - started < 20, "named long before the 60 s deadline"


def test_megabytes_of_log_neither_block_the_server_nor_the_error(app_file):
    server = launch(app_file("chatty.py"), "script", quiet=True)
    assert server.get("/").text == "chatty"
    assert server.log_path.stat().st_size > 3_000_000
    tail = servers.log_tail(server.log_path)
    assert "LAST LINE BEFORE SERVING" in tail and len(tail) < 10_000


def test_infinite_loop_in_a_handler_times_out_the_request_not_the_notebook(app_file):
    server = launch(app_file("endless_handler.py"), "wsgiref", quiet=True)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        server.get("/", timeout=1)
    assert time.monotonic() - started < 10
    server.stop()  # a process spinning in a loop still stops
    assert not server.alive()


def test_missing_file_and_unknown_kind_are_explained(tmp_path):
    with pytest.raises(ServerError, match="does not exist yet"):
        launch(tmp_path / "nothing.py", "wsgiref")
    (tmp_path / "x.py").write_text("")
    with pytest.raises(ServerError, match="kind must be one of"):
        launch(tmp_path / "x.py", "tornado")


def test_app_attribute_missing_is_explained(app_file):
    with pytest.raises(ServerError, match="defines no 'application'"):
        launch(app_file("hello_wsgi.py"), "wsgiref", app="application")


def test_log_is_kept_in_a_file_and_shown_on_demand(app_file, capsys):
    server = launch(app_file("hello_wsgi.py"), "wsgiref")
    assert f"is running at http://127.0.0.1:{server.port}/" in capsys.readouterr().out
    server.get("/")
    # wsgiref logs a request after it has sent the answer, so the line may come a moment later.
    deadline = time.monotonic() + 5
    while '"GET / HTTP/1.1" 200' not in servers.log_tail(server.log_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    server.log()
    assert '"GET / HTTP/1.1" 200' in capsys.readouterr().out


KERNEL_SCRIPT = """
import os, sys
sys.path.insert(0, {root!r})
from coursekit import launch
server = launch({path!r}, "gunicorn", args=["--workers", "2"], quiet=True)
print(server.process.pid, server.port, flush=True)
import threading; threading.Event().wait()
"""


def test_servers_die_when_their_kernel_is_killed(app_file):
    """nbval kills kernels without running atexit: the watchdog must still stop their servers."""
    script = KERNEL_SCRIPT.format(root=str(servers.HERE.parent), path=str(app_file("hello_wsgi.py")))
    kernel = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)],
                              stdout=subprocess.PIPE, text=True)
    try:
        pid, port = map(int, kernel.stdout.readline().split())
        family = [pid] + [c.pid for c in children(pid, 2)]
        assert len(family) == 3 and port_is_listening(port)
    finally:
        kernel.send_signal(signal.SIGKILL)
        kernel.wait(10)
        kernel.stdout.close()
    assert all(gone(p) for p in family), "the server outlived its kernel"
    assert not port_is_listening(port)


@pytest.mark.skipif(os.name == "nt", reason="POSIX process groups")
def test_stop_kills_children_that_ignore_sigterm(tmp_path):
    (tmp_path / "stubborn.py").write_text(textwrap.dedent("""
        import os, signal, socket, subprocess, sys, threading
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c",
            "import signal, threading; signal.signal(signal.SIGTERM, signal.SIG_IGN); threading.Event().wait()"])
        print(child.pid, flush=True)
        server = socket.create_server(("127.0.0.1", int(os.environ["PORT"])))
        threading.Event().wait()
    """))
    server = launch(tmp_path / "stubborn.py", "script", quiet=True)
    child = int(servers.log_tail(server.log_path).split()[0])
    started = time.monotonic()
    server.stop(timeout=1)
    assert time.monotonic() - started < 15
    assert gone(child) and gone(server.process.pid)


def test_behind_jupyterhub_the_url_prefix_reaches_the_frameworks(app_file, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    api = launch(app_file("hello_fastapi.py"), "uvicorn", quiet=True)
    assert api.browser_url == f"/user/ada/proxy/{api.port}/"
    assert f"/user/ada/proxy/{api.port}/openapi.json" in api.get("/docs").text  # --root-path
    assert api.get("/").text == "fastapi"  # direct requests still work
    site = launch(app_file("hello_flask.py"), "flask", quiet=True)
    proxied = site.get("/where", headers={"X-Forwarded-Prefix": f"/user/ada/proxy/{site.port}"})
    assert proxied.text == f"/user/ada/proxy/{site.port}/"  # ProxyFix honours the proxy's prefix
    django = launch(app_file("djangosite") / "manage.py", "django", quiet=True)
    assert django.get("/where").text == f"/user/ada/proxy/{django.port}/"  # FORCE_SCRIPT_NAME
    asgi = launch(app_file("hello_asgi.py"), "uvicorn", quiet=True)
    assert asgi.get("/").text == "asgi"


def test_on_a_hub_launch_shows_a_link_through_the_proxy(app_file, monkeypatch, capsys):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    server = launch(app_file("hello_wsgi.py"), "wsgiref")
    out = capsys.readouterr().out  # outside IPython: plain text (the kernel test sees the HTML link)
    assert f"Open it in your browser at /user/ada/proxy/{server.port}/" in out
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX")
    launch(app_file("hello_wsgi.py"), "wsgiref")
    assert "Open it in your browser" not in capsys.readouterr().out  # locally: the 127.0.0.1 URL


def test_connect_gives_a_raw_socket_and_wait_for_log_waits_for_a_line(app_file):
    server = launch(app_file("hello_wsgi.py"), "wsgiref", quiet=True)
    with server.connect(timeout=3) as sock:
        assert sock.gettimeout() == 3
        sock.sendall(b"GET /raw HTTP/1.0\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):  # HTTP/1.0: the server closes when it has answered
            answer += chunk
        assert answer.startswith(b"HTTP/1.0 200 OK") and answer.endswith(b"wsgi")
    assert '"GET /raw HTTP/1.0" 200' in server.wait_for_log("GET /raw", timeout=5)
    started = time.monotonic()
    with pytest.raises(ServerError, match="did not show 'never logged' within 0.3 s"):
        server.wait_for_log("never logged", timeout=0.3)
    assert time.monotonic() - started < 10
    server.stop()
    with pytest.raises(ServerError, match="connecting to hello_wsgi: the connection was refused"):
        server.connect()


def test_a_failed_request_is_still_the_client_librarys_exception(app_file):
    server = launch(app_file("hello_wsgi.py"), "wsgiref", quiet=True)
    server.stop()
    with pytest.raises(requests.ConnectionError) as error:
        server.get("/")
    assert isinstance(error.value, ServerError)
    assert error.value._render_traceback_() == [f"ServerError: {error.value}"]


def test_two_files_with_one_name_do_not_stop_each_other(app_file, tmp_path):
    first = launch(app_file("hello_wsgi.py"), "wsgiref", quiet=True)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "hello_wsgi.py").write_text((tmp_path / "hello_wsgi.py").read_text())
    with pytest.raises(ServerError, match="already running from .*Give this one its own name"):
        launch(tmp_path / "other" / "hello_wsgi.py", "wsgiref", quiet=True)
    assert first.alive() and servers.running() == [first]
    second = launch(tmp_path / "other" / "hello_wsgi.py", "wsgiref", name="other", quiet=True)
    assert first.alive() and second.alive() and first.log_path != second.log_path


def test_every_kind_is_one_row_of_the_table():
    for name, kind in servers.KINDS.items():
        assert kind.command and kind.root_path, name
    assert set(servers.KIND_ADVICE.values()) <= set(servers.KINDS)


def test_stopping_an_old_handle_leaves_its_successor_registered(app_file):
    path = app_file("hello_wsgi.py")
    old = launch(path, "wsgiref", quiet=True)
    new = launch(path, "wsgiref", quiet=True)
    old.stop()
    assert servers.running() == [new]


def test_a_fixed_port_already_taken_is_explained(app_file):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match="already in use 3 times in a row") as error:
            launch(app_file("fixed_port.py"), "script", env={"TAKEN_PORT": str(port)})
    assert "PORT environment variable" in str(error.value)
    assert "Address already in use" in str(error.value)


@pytest.mark.parametrize("log", ["OSError: [Errno 98] Address already in use",
                                 "[Errno 98] error while attempting to bind: address already in use",
                                 "Error: That port is already in use.",
                                 "[ERROR] Connection in use: ('127.0.0.1', 5000)"])
def test_every_servers_wording_of_a_taken_port_is_recognised(log):
    assert servers.port_in_use(log)
    assert not servers.port_in_use("Listening at: http://127.0.0.1:5000")


def test_wrapped_apps_are_not_mistaken_for_another_kind(tmp_path):
    (tmp_path / "validated.py").write_text(
        "from wsgiref.validate import validator\n"
        "def plain(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'checked']\n"
        "app = validator(plain)  # takes *args: neither a factory nor ASGI\n")
    assert launch(tmp_path / "validated.py", "wsgiref", quiet=True).get("/").text == "checked"


def test_a_request_failure_explained_by_a_handle_reads_the_same_in_a_check(app_file):
    from coursekit.explain import connection_problem

    server = launch(app_file("hello_wsgi.py"), "wsgiref", quiet=True)
    server.stop()
    with pytest.raises(ServerError) as error:
        server.get("/")
    assert connection_problem(error.value) == error.value.explanation
    assert "was refused" in error.value.explanation


LINGERING_THREAD = """
import ctypes, os, signal, socket, threading, time
server = socket.create_server(("127.0.0.1", int(os.environ["PORT"])))

def close_slowly():
    time.sleep(3)  # a server thread finishing its work, the socket still open
    os._exit(0)

def finish(signum, frame):  # the main thread ends now; Linux then shows the process as a zombie
    threading.Thread(target=close_slowly).start()
    ctypes.CDLL(None).pthread_exit(None)

signal.signal(signal.SIGTERM, finish)
while True:
    server.accept()[0].close()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux's zombie main thread")
def test_stop_waits_for_the_servers_own_threads_before_judging_its_port(tmp_path):
    """On a busy machine a threaded server's main thread may exit well before its other threads: it
    shows as a zombie while they still hold the port. Neither a foreign process nor a stray Popen."""
    (tmp_path / "lingering.py").write_text(LINGERING_THREAD)
    server = launch(tmp_path / "lingering.py", "script", quiet=True)
    server.stop()  # not: "port N still answers: a process this account cannot see listens on it"
    assert not port_is_listening(server.port)
    assert server.process.returncode == 0, "the leader was not reaped: Popen.__del__ would warn"


CHILD_HOLDS_THE_PORT = """
import os, signal, socket, subprocess, sys
server = socket.create_server(("127.0.0.1", int(os.environ["PORT"])))
child = subprocess.Popen([sys.executable, "-c", '''
import signal, socket, sys, time
held = socket.socket(fileno=int(sys.argv[1]))
signal.signal(signal.SIGTERM, lambda *_: (time.sleep(2), sys.exit(0)))  # finishing its work
print("child ready", flush=True)
signal.pause()
''', str(server.fileno())], pass_fds=[server.fileno()])
while True:
    server.accept()[0].close()
"""


@pytest.mark.skipif(os.name == "nt", reason="POSIX signals")
def test_stop_waits_for_a_child_that_keeps_the_port_after_its_leader_exits(tmp_path):
    (tmp_path / "parent.py").write_text(CHILD_HOLDS_THE_PORT)
    server = launch(tmp_path / "parent.py", "script", quiet=True)
    server.wait_for_log("child ready", timeout=30)
    server.stop()  # the leader dies at once; its child holds the port two seconds more
    assert not port_is_listening(server.port)


def test_a_port_taken_by_a_new_process_after_the_stop_is_not_the_servers(app_file):
    """On a shared hub another student's launch may be given the port a stopped server just freed;
    stop() said "port N still answers ... stop it yourself" about that stranger's server. A holder
    that was there before the stop began (a process that left the tree) is still named."""
    began = servers._clock()
    stranger = launch(app_file("hello_wsgi.py"), "wsgiref", name="stranger", quiet=True)
    try:
        assert servers._foreign_holder(stranger.port, began) == ""
        later = servers._clock()
        assert f"pid {stranger.process.pid}" in servers._foreign_holder(stranger.port, later)
    finally:
        stranger.stop()
