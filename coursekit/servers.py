"""Start a server file as its own process, wait until it answers, and stop it without leftovers.

Each server gets a port the OS picked, its own process group, a log file that nobody else writes,
and a place on a small watchdog's list: if the kernel dies, the watchdog stops it. A server leaves
that list only once every process of it (children that left its group included) is gone.
"""
from __future__ import annotations

import atexit
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

from coursekit.explain import connection_problem
from coursekit.ports import (HOST, free_port, listening_ports, listening_sockets, port_in_use,
                             port_is_listening, who_listens)
from coursekit.urls import announce, proxy_prefix
from coursekit.watchdog import LOG_DROPPED, TOKEN, stop_servers

HERE = Path(__file__).resolve().parent
RUNNER = ("{runner}", "{kind}", "{file}", "{app}", "{port}")  # coursekit/run.py serves the app
LOG_TAIL_LINES = 25
# Deadlines: waits on events (an answer, a log line), so only a failure takes this long. They are
# wide because a classroom host under load can take seconds to start Python or answer a request.
LAUNCH_SECONDS = 30
REQUEST_SECONDS = 10
LOG_SECONDS = 15
_running: dict[str, Server] = {}  # name -> Server, for this kernel
_watchdog = None
_watchdog_lock = threading.Lock()  # launches may come from several threads
_also_stop: list = []  # callables that stop servers on the kernel's own loop (coursekit.inkernel)


@dataclass(frozen=True)
class Kind:
    command: tuple  # after the interpreter; {file} {app} {port} {host} {runner} {kind} filled in
    root_path: str  # how a JupyterHub proxy prefix (COURSEKIT_URL_PREFIX) reaches the app
    imports: tuple = ()  # the server's own modules: a student's file must not take their names
    by_module: bool = False  # the server imports the file by module name (so it must be one)
    ready_log: str = ""  # besides the port answering, a line the log must show


KINDS = {
    "script": Kind(("{file}",), "COURSEKIT_URL_PREFIX in its environment; the script decides"),
    "wsgiref": Kind(RUNNER, "COURSEKIT_URL_PREFIX in its environment", ("wsgiref",)),
    # Ready once a worker has loaded the app (coursekit/run.py logs it), not at the master's
    # "Listening at:": until then a request waits, and an extra --bind may still be retrying.
    "gunicorn": Kind(RUNNER, "COURSEKIT_URL_PREFIX in its environment", ("gunicorn",),
                     by_module=True, ready_log="Worker ready:"),
    "uvicorn": Kind(RUNNER, "--root-path PREFIX: FastAPI builds /docs links from it; a raw ASGI "
                    "app strips scope['root_path'] from scope['path'], as the ASGI spec says",
                    ("uvicorn", "fastapi", "starlette"), by_module=True),
    "flask": Kind(RUNNER, "Werkzeug's ProxyFix trusts the proxy's X-Forwarded-Prefix",
                  ("flask", "werkzeug", "jinja2")),
    "aiohttp": Kind(RUNNER, "COURSEKIT_URL_PREFIX in its environment", ("aiohttp",)),
    "django": Kind(("{file}", "runserver", "{host}:{port}", "--noreload"),
                   "settings.py sets FORCE_SCRIPT_NAME from COURSEKIT_URL_PREFIX", ("django",)),
}
# Names students try that are not kinds, and the kind that serves such an app.
KIND_ADVICE = {"fastapi": "uvicorn", "starlette": "uvicorn", "asgi": "uvicorn", "wsgi": "wsgiref",
               "werkzeug": "flask", "socket": "script", "python": "script", "manage.py": "django"}
RESERVED_ENV = ("PORT", "HOST", "COURSEKIT_SERVER", "COURSEKIT_KERNEL_PID", TOKEN)


class ServerError(RuntimeError):
    """A server did not start, stop or answer as asked; the message says why in plain words."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback through the toolkit's own frames.
        return [f"ServerError: {self}"]


class RequestFailed(ServerError):
    """A request to a server failed; also an instance of the client library's own exception."""


_request_errors: dict[type, type] = {}


def explained(error: Exception, where: str, tail: str = "") -> RequestFailed:
    """The client library's `error` as a RequestFailed that reads as a sentence (and still is an
    instance of the original class, so `except requests.Timeout` keeps working)."""
    base = type(error)
    cls = _request_errors.setdefault(base, type(base.__name__, (RequestFailed, base), {}))
    text = f"{where}: {connection_problem(error)}"
    if tail and "log is shown below" in text:
        text += f"\nThe end of its log:\n{tail}"
    failure = cls(text)
    failure.explanation = connection_problem(error)
    failure.request, failure.response = getattr(error, "request", None), getattr(error, "response", None)
    return failure


class Server:
    """A running server: its URL, its log, and how to talk to it and stop it."""

    def __init__(self, name, kind, path, process, port, log_path, token):
        self.name, self.kind, self.path, self.process, self.port = name, kind, path, process, port
        self.log_path, self.token = log_path, token
        self.url = f"http://{HOST}:{port}/"
        self.url_prefix = ""  # the proxy prefix it was given (COURSEKIT_URL_PREFIX), if any

    def __repr__(self):
        state = "running" if self.alive() else "stopped"
        return f"<Server {self.name!r} ({self.kind}) {state} at {self.url}>"

    @property
    def browser_url(self) -> str:
        from coursekit.urls import browser_url
        return browser_url(self.port)

    def alive(self) -> bool:
        return self.process.poll() is None

    def connect(self, timeout: float = REQUEST_SECONDS) -> socket.socket:
        """A raw TCP connection to the server, every read and write with a deadline of `timeout` s."""
        try:
            return socket.create_connection((HOST, self.port), timeout=timeout)
        except OSError as error:
            raise explained(error, f"connecting to {self.name}", log_tail(self.log_path)) from None

    def get(self, path: str = "/", **kwargs):
        """GET a path on this server, with a deadline; returns a requests.Response."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str = "/", **kwargs):
        """POST to a path on this server, with a deadline; returns a requests.Response."""
        return self.request("POST", path, **kwargs)

    def request(self, method: str, path: str = "/", timeout: float = REQUEST_SECONDS, **kwargs):
        """Any request, with a deadline; a failure raises RequestFailed, explained in words."""
        import requests  # imported here so that `import coursekit.servers` stays quick

        failures = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
        try:
            return requests.request(method, self.url + path.lstrip("/"), timeout=timeout, **kwargs)
        except failures as error:
            raise explained(error, f"{method} {path} on {self.name}", log_tail(self.log_path)) from None

    def wait_for_log(self, text: str, timeout: float = LOG_SECONDS, count: int = 1) -> str:
        """Wait until `count` lines of the log show `text` and return the last of them (servers log
        after acting; count=2 for two gunicorn workers' "Worker ready:", say)."""
        deadline = time.monotonic() + timeout
        pause = 0.002
        while True:
            lines = [line for line in _read(self.log_path).splitlines() if text in line]
            if len(lines) >= count:
                return lines[count - 1]
            if time.monotonic() >= deadline:
                shown = f"{text!r}" if count == 1 else f"{text!r} {count} times"
                raise ServerError(f"{self.name}'s log did not show {shown} within {timeout} s. "
                                  f"The end of its log:\n{log_tail(self.log_path) or '(its log is empty)'}")
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def log(self, lines: int = LOG_TAIL_LINES) -> None:
        """Print the last lines of the server's log (a log is capped at 4 MB: older lines go first)."""
        if _read(self.log_path, 200).startswith(LOG_DROPPED):
            print(f"(older lines were dropped: a log is capped at 4 MB; {self.log_path} keeps the newest)")
        print(log_tail(self.log_path, lines) or "(its log is empty)")

    def stop(self, timeout: float = 5) -> None:
        """Stop every process of the server (SIGTERM, then SIGKILL after `timeout` s) and wait until
        they are gone; only then is it forgotten, so an interrupted stop() leaves nothing unguarded."""
        began = _clock()
        left = stop_servers([(self.process.pid, self.token)], grace=timeout)
        if left:
            self.process.poll()
            pids = ", ".join(str(p.pid) for p in left)
            raise ServerError(f"{self.name}: processes {pids} still run after SIGKILL (stuck in the "
                              "kernel of the OS?). The watchdog will keep trying when this kernel exits.")
        _reap(self.process)
        _forget(self)
        holder = _foreign_holder(self.port, began)
        if holder:
            raise ServerError(f"{self.name} has stopped, but port {self.port} still answers: {holder} "
                              "listens on it. That process is not part of this server; stop it yourself.")


def launch(path: str | Path, kind: str = "script", app: str = "app", name: str | None = None,
           timeout: float = LAUNCH_SECONDS, args: list[str] | tuple = (), env: dict[str, str] | None = None,
           quiet: bool = False) -> Server:
    """Start the server in `path` on a free loopback port and return it once it answers.

    kind: script (reads PORT from the environment), wsgiref, gunicorn, uvicorn, flask,
    aiohttp, or django (path is manage.py). app: the module attribute that holds the app.
    """
    path, spec = _checked(path, kind, name, args, env)
    name = name or path.stem
    old = _running.get(name)
    if old is not None:
        if old.path != path and old.alive():
            raise ServerError(f"A server named {name!r} is already running from {old.path}. Give this "
                              f"one its own name: launch({str(path)!r}, ..., name='...').")
        old.stop()  # the cell ran again: a clean restart
    deadline = time.monotonic() + timeout  # one deadline, however many ports it takes
    for attempt in range(3):
        server = _start(path, kind, spec, app, name, list(args), env or {})
        try:
            _wait_until_ready(server, spec, deadline, timeout)
        except _PortTaken:
            server.stop(timeout=0.5)  # a server that failed to start needs no graceful shutdown
            if time.monotonic() < deadline:
                continue  # another program grabbed the port between our pick and its bind
            break
        except BaseException:
            server.stop(timeout=0.5)
            raise
        if not quiet:
            announce(name, kind, server.url, server.port)
        return server
    tries = "3 times in a row" if attempt == 2 else "and ran out of time"
    raise ServerError(f"{name} found its port already in use {tries}. If it listens on "
                      "a fixed port, make it read the port from the PORT environment variable. "
                      f"The end of its log:\n{log_tail(server.log_path)}")


def running() -> list[Server]:
    """The servers this kernel started and has not stopped yet."""
    _guard_all()  # a watchdog that died is replaced, and takes over every server
    return [s for s in _running.values() if s.alive()]


def launched() -> list[Server]:
    """The servers this kernel started and has not stopped, whether they still run or have exited."""
    return list(_running.values())


def stop_all(timeout: float = 5) -> None:
    """Stop every server this kernel started, all at once (the last cell of each notebook calls this)."""
    global _watchdog
    for stop in _also_stop:  # servers on the kernel's own loop (coursekit.inkernel)
        stop()
    servers = list(_running.values())
    left = servers and stop_servers([(s.process.pid, s.token) for s in servers], grace=timeout)
    for server in servers:
        if left:
            server.process.poll()
        else:
            _reap(server.process)
    if left:  # sort out which server is stuck, and say so
        for server in servers:
            server.stop(timeout=0.5)
    for server in servers:
        _forget(server)
    with _watchdog_lock:
        if not _running and _watchdog is not None:  # nothing left to guard: let it exit too
            _watchdog.stdin.close()
            try:
                _watchdog.wait(30)  # it exits as soon as it reads the end of its input
            except subprocess.TimeoutExpired:
                _watchdog.kill()
                _watchdog.wait()
            _watchdog = None


def also_on_stop_all(stop):
    """Have stop_all() call `stop` too (once registered, always called)."""
    if stop not in _also_stop:
        _also_stop.append(stop)


def _reap(process, seconds=5):
    """Collect the exit status of a leader whose every thread has exited (so waiting is quick), so that
    no Popen is left behind to warn 'subprocess is still running'."""
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        pass


PORT_RELEASE_SECONDS = 10  # a margin: the port closes as the last process holding it exits


def _foreign_holder(port, began):
    """Who still listens on the port of a server whose processes have all exited, and was there
    before the stop `began` (a _clock() reading): a process that left the server's tree, say.
    '' once none does.

    A process that started after that was given the freed port: another server, or on a shared
    hub another student's. On Linux, one this account cannot see is another user's. Neither is
    this server's, so neither is an error. Elsewhere an unnamed holder gets a few seconds first,
    as the OS may take a moment to close what an exiting process held."""
    deadline = time.monotonic() + PORT_RELEASE_SECONDS
    pause = 0.005
    while True:
        holder = who_listens(port)
        if holder.startswith("pid "):
            return holder if _started_before(int(holder.split()[1]), began) else ""
        if not holder or sys.platform.startswith("linux"):  # on Linux, unnamed is another user's
            return ""
        if time.monotonic() >= deadline:
            return holder
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _clock():
    """Now, on the clock _started_before compares with: seconds since boot on Linux (/proc/uptime,
    to 10 ms), as psutil reckons a start time there from the boot time in whole seconds."""
    if sys.platform.startswith("linux"):
        return float(Path("/proc/uptime").read_text().split()[0])
    return time.time()


def _started_before(pid, moment):
    """Whether the process was started before `moment` (a _clock() reading)."""
    try:
        start = psutil.Process(pid).create_time()
    except psutil.Error:
        return False  # gone already
    if sys.platform.startswith("linux"):  # both in clock ticks (10 ms) since boot: compare them as such
        return round(start - psutil.boot_time(), 2) < round(moment, 2)
    return start < moment


def _stop_at_exit():
    # A kernel that shuts down is killed ~2.5 s later: be quick. Whatever is cut off, the watchdog ends.
    stop_all(timeout=1)


def _checked(path, kind, name, args, env):
    """Refuse, with a sentence, what cannot work; return the resolved path and the kind's row."""
    if kind not in KINDS:
        advice = KIND_ADVICE.get(str(kind).lower())
        if advice:
            raise ServerError(f"kind={kind!r} is not a kind of server: such an app runs under "
                              f"{advice}, so launch it with kind={advice!r}.")
        raise ServerError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    spec = KINDS[kind]
    path = Path(path)
    if path.is_dir():
        raise ServerError(f"{path} is a folder; give the server's file"
                          + (" (for Django, its manage.py)." if kind == "django" else "."))
    if not path.is_file():
        raise ServerError(f"{path} does not exist yet. Run the cell that writes it first.")
    path = path.resolve()
    if name is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ServerError(f"name={name!r} cannot name a server: it names its log file too, so use "
                          "letters, digits, '_', '-' and '.' only (no slashes or spaces).")
    if isinstance(args, str):
        raise ServerError(f"args must be a list of strings, such as {args.split()!r}; got a string.")
    taken = sorted(set(env or {}) & set(RESERVED_ENV))
    if taken:
        raise ServerError(f"env sets {', '.join(taken)}, which launch() sets itself: the port is "
                          "picked free each time (read it from PORT). Leave it out of env.")
    stem = path.stem
    if stem in spec.imports or stem in sys.stdlib_module_names or stem == "coursekit":
        raise ServerError(f"{path.name} has the name of a module that Python or the server needs "
                          f"({stem}): `import {stem}` would find your file instead. Rename it, for "
                          f"example to my_{stem}.py.")
    if spec.by_module and not stem.isidentifier():
        better = re.sub(r"\W", "_", stem)
        better = better if better.isidentifier() else f"app_{better}"
        raise ServerError(f"{kind} imports {path.name} as the module {stem!r}, which Python cannot "
                          f"import: a module name has only letters, digits and '_', and does not "
                          f"start with a digit. Rename the file, for example to {better}.py.")
    return path, spec


def _open_log(folder, name):
    """A log file that no other live server writes (another kernel may run the same file)."""
    for n in itertools.count(1):
        path = folder / (f"{name}.log" if n == 1 else f"{name}-{n}.log")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.name == "nt":
            break
        import fcntl

        try:  # the lock lives as long as any process holds this file open: the server's lifetime
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError:
            os.close(fd)
    os.ftruncate(fd, 0)
    return fd, path


def _start(path, kind, spec, app, name, args, extra_env):
    port = free_port()
    token = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
    env = dict(os.environ, PYTHONUNBUFFERED="1", HOST=HOST, PORT=str(port), COURSEKIT_SERVER=name,
               COURSEKIT_KERNEL_PID=str(os.getpid()), **{TOKEN: token})
    env.pop("COURSEKIT_URL_PREFIX", None)  # the kernel's own (inherited) is another server's
    if proxy_prefix(port):
        env["COURSEKIT_URL_PREFIX"] = proxy_prefix(port)
    env.update(extra_env)  # what the cell passes wins, a prefix set by hand included
    fields = dict(runner=str(HERE / "run.py"), kind=kind, file=path.name, app=app, port=port, host=HOST)
    command = [sys.executable, *(part.format(**fields) for part in spec.command), *args]
    log_fd, log_path = _open_log(path.parent, name)
    try:  # its own process group, so that a kernel interrupt does not reach it
        process = subprocess.Popen(command, cwd=path.parent, env=env, stdin=subprocess.DEVNULL,
                                   stdout=log_fd, stderr=subprocess.STDOUT, **own_process_group())
    finally:
        os.close(log_fd)  # the server holds it (and its lock) now
    server = Server(name, kind, path, process, port, log_path, token)
    server.url_prefix = env.get("COURSEKIT_URL_PREFIX", "")  # links it builds start with this
    _running[name] = server
    _watch(f"add {process.pid} {token} {log_path}")
    return server


def own_process_group() -> dict:
    """Popen options that start a process in a new process group (POSIX) or console group (Windows)."""
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


class _PortTaken(Exception):
    pass


def _wait_until_ready(server, spec, deadline, timeout):
    """Poll until the server answers on its port (fast at first); fail as soon as it cannot."""
    pause, look = 0.001, time.monotonic() + 0.3
    elsewhere = set()
    while True:
        code = server.process.poll()
        if code is not None:
            tail = log_tail(server.log_path)
            if port_in_use(tail):
                raise _PortTaken()
            raise ServerError(f"{server.name} exited with code {code} before it answered. "
                              f"The end of its log:\n{tail or '(its log is empty)'}")
        if port_is_listening(server.port):
            _check_listener(server)
            if not spec.ready_log or spec.ready_log in log_tail(server.log_path, 200):
                return
            if port_in_use(log_tail(server.log_path)):
                raise ServerError(f"{server.name} answers on its port {server.port}, but its log says "
                                  "another address it was given is already in use (an extra --bind "
                                  f"in args?). The end of its log:\n{log_tail(server.log_path)}")
        now = time.monotonic()
        if now >= look:  # listening somewhere else? Say so now, not at the deadline.
            look = now + 0.25
            sockets = listening_sockets(_family(server.process.pid))
            unreachable = {a for a, p in sockets if p == server.port} - {HOST, "0.0.0.0", "::"}
            if unreachable:  # its port, but an address that 127.0.0.1 does not reach
                raise ServerError(f"{server.name} listens on {unreachable.pop()}, port {server.port}, "
                                  f"where {HOST} cannot reach it. Bind to {HOST} (the HOST "
                                  "environment variable holds it).")
            ports = {p for _, p in sockets} - {server.port}
            if ports and ports & elsewhere:
                raise _wrong_port(server, ports)
            elsewhere = ports
            if port_in_use(log_tail(server.log_path)):  # gunicorn retries a taken port for 5 s
                raise _PortTaken()
        if now >= deadline:
            break
        time.sleep(pause)
        pause = min(pause * 1.5, 0.02)
    other = listening_ports(server.process.pid) - {server.port}
    if other:
        raise _wrong_port(server, other)
    raise ServerError(f"{server.name} did not answer on port {server.port} within {timeout} s. "
                      f"The end of its log:\n{log_tail(server.log_path) or '(its log is empty)'}")


def _family(pid):
    try:
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def _wrong_port(server, ports):
    return ServerError(f"{server.name} is listening on port {', '.join(map(str, sorted(ports)))}, not on "
                       f"its own port {server.port}: serve on the port in the PORT environment variable. "
                       f"The end of its log:\n{log_tail(server.log_path) or '(its log is empty)'}")


def _check_listener(server):
    """The port answers: is it this server, on loopback only? (Someone else may have taken it.)"""
    try:
        sockets = {a for a, p in listening_sockets([server.process.pid]) if p == server.port}
        if not sockets:  # a worker or child may hold it
            family = [c.pid for c in psutil.Process(server.process.pid).children(recursive=True)]
            sockets = {a for a, p in listening_sockets(family) if p == server.port}
    except psutil.AccessDenied:
        return  # cannot tell (some systems hide sockets): trust the answer
    except psutil.NoSuchProcess:
        sockets = set()
    if not sockets:
        raise _PortTaken()
    wide = sockets & {"0.0.0.0", "::"}
    if wide:
        raise ServerError(
            f"{server.name} listens on {wide.pop()}, every address of this machine, not only on "
            f"{HOST}. On a shared host (JupyterHub) anyone who can reach the machine could then use "
            f"your server, and its bugs. Bind to {HOST} (the HOST environment variable holds it).")


def _read(path, max_bytes=None):
    try:
        with open(path, "rb") as f:
            return f.read(max_bytes).decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def log_tail(path: str | Path, lines: int = LOG_TAIL_LINES, max_bytes: int = 8192) -> str:
    """The last lines of a log file, read from its end so a huge log costs nothing."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _forget(server):
    """The server is confirmed gone: drop it from this kernel's list and the watchdog's."""
    if _running.get(server.name) is server:  # an old handle must not unregister its successor
        del _running[server.name]
    _watch(f"del {server.process.pid}")


def _guard_all():
    with _watchdog_lock:
        if _running and (_watchdog is None or _watchdog.poll() is not None):
            _start_watchdog()


def _start_watchdog():
    """A new watchdog, told about every server this kernel still has (the old one may have died)."""
    global _watchdog
    # In a group of its own, a kernel interrupt (sent to the kernel's group) misses it.
    _watchdog = subprocess.Popen([sys.executable, str(HERE / "watchdog.py"), str(os.getpid())],
                                 stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, **own_process_group())
    atexit.unregister(_stop_at_exit)  # registered once: a graceful kernel exit stops servers
    atexit.register(_stop_at_exit)
    for server in _running.values():
        _send(f"add {server.process.pid} {server.token} {server.log_path}")


def _send(line):
    try:
        _watchdog.stdin.write(f"{line}\n".encode())
        _watchdog.stdin.flush()
    except OSError:
        pass


def _watch(line):
    """Tell the watchdog which servers to stop if this kernel dies."""
    with _watchdog_lock:
        if _watchdog is None or _watchdog.poll() is not None:
            if line.startswith("del"):
                return
            _start_watchdog()  # sends every server in _running, this one included
            return
        _send(line)
