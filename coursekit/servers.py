"""Start a server file as its own process, wait until it answers, and stop it without leftovers.

Each server gets a port the OS picked, its own process group (so reloaders and workers die
with it) and a log file; a small watchdog process kills it if the kernel dies without cleaning up.
"""
import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

from coursekit.urls import browser_url, proxy_prefix

HOST = "127.0.0.1"
HERE = Path(__file__).resolve().parent
KINDS = ("script", "wsgiref", "gunicorn", "uvicorn", "flask", "aiohttp", "django")
LOG_TAIL_LINES = 25
_running = {}  # name -> Server, for this kernel
_watchdog = None
_watchdog_lock = threading.Lock()  # launches may come from several threads
_also_stop = []  # callables that stop servers on the kernel's own loop (coursekit.inkernel)


class ServerError(RuntimeError):
    """A server did not start or stop as asked; the message carries the tail of its log."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback through the toolkit's own frames.
        return [f"ServerError: {self}"]


class Server:
    """A running server: its URL, its log, and how to talk to it and stop it."""

    def __init__(self, name, kind, process, port, log_path):
        self.name, self.kind, self.process, self.port = name, kind, process, port
        self.log_path = log_path
        self.url = f"http://{HOST}:{port}/"
        self.browser_url = browser_url(port)

    def __repr__(self):
        state = "running" if self.alive() else "stopped"
        return f"<Server {self.name!r} ({self.kind}) {state} at {self.url}>"

    def alive(self):
        return self.process.poll() is None

    def get(self, path="/", **kwargs):
        """GET a path on this server, with a deadline; returns a requests.Response."""
        return self.request("GET", path, **kwargs)

    def post(self, path="/", **kwargs):
        return self.request("POST", path, **kwargs)

    def request(self, method, path="/", timeout=5, **kwargs):
        import requests  # imported here so that `import coursekit` stays quick

        return requests.request(method, self.url + path.lstrip("/"), timeout=timeout, **kwargs)

    def log(self, lines=LOG_TAIL_LINES):
        """Print the last lines of the server's log."""
        print(log_tail(self.log_path, lines) or f"({self.log_path} is empty)")

    def stop(self, timeout=5):
        """Stop the server's whole process group and wait until its port is free."""
        if _running.get(self.name) is self:  # an old handle must not unregister its successor
            del _running[self.name]
        _watch("del", self.process.pid)
        kill_group(self.process, timeout)
        deadline = time.monotonic() + timeout
        while port_is_listening(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)


def launch(path, kind="script", app="app", name=None, timeout=15, args=(), env=None, quiet=False):
    """Start the server in `path` on a free loopback port and return it once it answers.

    kind: script (reads PORT from the environment), wsgiref, gunicorn, uvicorn, flask,
    aiohttp, or django (path is manage.py). app: the module attribute that holds the app.
    """
    path = Path(path)
    if kind not in KINDS:
        raise ServerError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    if not path.is_file():
        raise ServerError(f"{path} does not exist yet. Run the cell that writes it first.")
    name = name or path.stem
    if name in _running:  # the cell ran again: a clean restart
        _running[name].stop()
    log_path = path.with_name(f"{name}.log")
    for attempt in range(3):
        port = free_port()
        server = _start(path, kind, app, name, port, log_path, list(args), env or {})
        try:
            _wait_until_ready(server, timeout)
        except _PortTaken:
            server.stop()
            continue  # another program grabbed the port between our pick and its bind
        except BaseException:
            server.stop()
            raise
        if not quiet:
            print(f"{name} ({kind}) is running at {server.url}")
        if not quiet and server.browser_url != server.url:
            print(f"Open it in your browser at {server.browser_url}")
        return server
    raise ServerError(f"{name} found its port already in use 3 times in a row. If it listens on a "
                      "fixed port, make it read the port from the PORT environment variable. "
                      f"The end of its log:\n{log_tail(log_path)}")


def running():
    """The servers this kernel started and has not stopped yet."""
    return [s for s in _running.values() if s.alive()]


def stop_all():
    """Stop every server this kernel started (the last cell of each notebook calls this)."""
    global _watchdog
    for stop in _also_stop:
        stop()
    for server in list(_running.values()):
        server.stop()
    with _watchdog_lock:
        if _watchdog is not None:  # nothing left to guard: let the watchdog exit too
            _watchdog.stdin.close()
            _watchdog.wait(5)
            _watchdog = None


def also_on_stop_all(stop):
    """Have stop_all() call `stop` too (once registered, always called)."""
    if stop not in _also_stop:
        _also_stop.append(stop)


def free_port():
    """A port on 127.0.0.1 that nothing listens on right now, picked by the OS."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_is_listening(port):
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


def command_for(path, kind, app, port, args):
    """The command line that serves `path` as `kind` on `port`."""
    # The process runs in the file's folder, so the file is named without its folder: tracebacks
    # in the log then read the same wherever the course was cloned.
    py, module, folder = sys.executable, path.stem, str(path.parent.resolve())
    runner = str(HERE / "run.py")
    if kind == "script":
        return [py, path.name, *args]
    if kind in ("wsgiref", "flask", "aiohttp"):
        return [py, runner, kind, path.name, app, str(port), *args]
    if kind == "gunicorn":
        return [py, "-m", "gunicorn", f"{module}:{app}", "--chdir", folder,
                "--bind", f"{HOST}:{port}", *args]
    if kind == "uvicorn":
        extra = ["--root-path", proxy_prefix(port).rstrip("/")] if proxy_prefix(port) else []
        return [py, "-m", "uvicorn", f"{module}:{app}", "--app-dir", folder, "--host", HOST,
                "--port", str(port), *extra, *args]
    return [py, path.name, "runserver", f"{HOST}:{port}", "--noreload", *args]


def _start(path, kind, app, name, port, log_path, args, extra_env):
    env = dict(os.environ, PYTHONUNBUFFERED="1", HOST=HOST, PORT=str(port),
               COURSEKIT_SERVER=name, COURSEKIT_KERNEL_PID=str(os.getpid()), **extra_env)
    if proxy_prefix(port):
        env["COURSEKIT_URL_PREFIX"] = proxy_prefix(port)
    log = open(log_path, "wb")
    try:  # its own process group, so that stop() ends its workers and reloaders too
        process = subprocess.Popen(command_for(path, kind, app, port, args), cwd=path.parent,
                                   env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, **own_process_group())
    finally:
        log.close()  # the child has its own copy
    server = Server(name, kind, process, port, log_path)
    _running[name] = server
    _watch("add", process.pid)
    return server


def own_process_group():
    """Popen options that start a process in a new process group (POSIX) or console group (Windows)."""
    if os.name == "nt":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


class _PortTaken(Exception):
    pass


def port_in_use(log):
    """Does a server's log say its port was taken? (Each server words it its own way.)"""
    log = log.lower()
    return any(words in log for words in ("address already in use", "port is already in use",
                                          "connection in use"))


def _wait_until_ready(server, timeout):
    """Poll until the server accepts connections on its port; fail fast if it dies."""
    deadline = time.monotonic() + timeout
    pause = 0.005
    while time.monotonic() < deadline:
        code = server.process.poll()
        if code is not None:
            tail = log_tail(server.log_path)
            if port_in_use(tail):
                raise _PortTaken()
            raise ServerError(f"{server.name} exited with code {code} before it answered. "
                              f"The end of its log:\n{tail}")
        if port_is_listening(server.port):
            if server.port not in listening_ports(server.process.pid, "tcp4"):
                raise _PortTaken()
            return
        time.sleep(pause)
        pause = min(pause * 1.5, 0.02)
    if port_in_use(log_tail(server.log_path)):  # gunicorn retries a taken port until it gives up
        raise _PortTaken()
    other = sorted(listening_ports(server.process.pid))
    where = (f" It is listening on port {', '.join(map(str, other))} instead: serve on the port "
             f"in the PORT environment variable ({server.port})." if other else "")
    raise ServerError(f"{server.name} did not answer on port {server.port} within {timeout} s."
                      f"{where} The end of its log:\n{log_tail(server.log_path)}")


def listening_ports(pid, kind="tcp"):
    """Ports that a process or any of its children listen on (kind: tcp, or tcp4, which is quicker)."""
    try:
        root = psutil.Process(pid)
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return set()
    ports = set()
    for proc in family:
        try:
            ports.update(c.laddr.port for c in proc.net_connections(kind)
                         if c.status == psutil.CONN_LISTEN)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return ports


def log_tail(path, lines=LOG_TAIL_LINES, max_bytes=8192):
    """The last lines of a log file, read from its end so a huge log costs nothing."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - max_bytes))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def kill_group(process, timeout=5):
    """Ask the process group to stop, then force it; reap the leader."""
    if os.name == "nt":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(process.pid)],
                       capture_output=True, check=False)
        process.wait(timeout)
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline:
            try:
                process.wait(0.02)
                os.killpg(process.pid, 0)  # workers of the group still alive?
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                return
            time.sleep(0.02)


def _watch(action, pid):
    """Tell the watchdog which process groups to kill if this kernel dies."""
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None or _watchdog.poll() is not None:
            if action == "del":
                return
            # In a group of its own, a kernel interrupt (sent to the kernel's group) misses it.
            _watchdog = subprocess.Popen([sys.executable, str(HERE / "watchdog.py"), str(os.getpid())],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, **own_process_group())
            atexit.unregister(stop_all)  # registered once: a graceful kernel exit stops servers
            atexit.register(stop_all)
        try:
            _watchdog.stdin.write(f"{action} {pid}\n".encode())
            _watchdog.stdin.flush()
        except OSError:
            pass
