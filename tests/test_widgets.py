"""The request explorer and the server panel, driven from Python as a student's clicks would drive
them, against real servers started with launch(): one that answers, one that crashes, one that
never answers."""
import socket
import textwrap
import time

import nbformat
import pytest

from coursekit import questions, widgets
from coursekit.notebooks import ROOT
from coursekit.servers import launch, launched

pytestmark = pytest.mark.servers

ECHO = """\
def app(environ, start_response):
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = (environ["REQUEST_METHOD"] + " " + environ["PATH_INFO"] + " "
            + environ.get("HTTP_X_COLOUR", "-") + " ").encode() + environ["wsgi.input"].read(size)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""
# Answers nothing: takes each connection, reads, and holds it open.
SILENT = """\
import os, socket, time
server = socket.create_server((os.environ["HOST"], int(os.environ["PORT"])))
held = []
while True:
    connection, _ = server.accept()
    held.append(connection)
"""
# Serves until its first request (launch's readiness probe sends no bytes), then says why in its
# log and exits with code 3.
CRASHING = """\
import os, socket, sys
server = socket.create_server((os.environ["HOST"], int(os.environ["PORT"])))
while not server.accept()[0].recv(1024):
    pass
print("crashing on purpose: the disk is full", flush=True)
sys.exit(3)
"""


@pytest.fixture(autouse=True)
def live_widgets(monkeypatch):
    monkeypatch.delenv(questions.STORED_RUN, raising=False)


def serve(tmp_path, name, source, kind="script"):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return launch(path, kind=kind, quiet=True)


def test_the_explorer_sends_what_the_student_typed_and_shows_both_sides_raw(tmp_path):
    echo = serve(tmp_path, "echo", ECHO, kind="wsgiref")
    view = widgets.explorer(echo)
    view.method.value = "POST"
    view.path.value = "/notes"
    view.headers.value = "X-Colour: teal\nContent-Type: text/plain"
    view.body.value = "hello"
    view.send_button.click()
    assert "POST /notes HTTP/1.1\\r\\n" in view.request_view.value
    assert "X-Colour: teal\\r\\n" in view.request_view.value and "Content-Length: 5\\r\\n" in view.request_view.value
    assert "HTTP/1.0 200 OK\\r\\n" in view.response_view.value
    assert "POST /notes teal hello" in view.response_view.value
    assert view.exchange.status_line == "HTTP/1.0 200 OK" and view.note.value == ""
    assert view.inside_view.value == "", "a server over the network has no environ to show"


def test_the_explorer_lists_running_servers_newest_first_and_reloads_the_list(tmp_path):
    first = serve(tmp_path, "first", ECHO, kind="wsgiref")
    view = widgets.explorer()
    assert [value for _, value in view.target.options] == [first]
    second = serve(tmp_path, "second", ECHO, kind="wsgiref")
    view.reload_button.click()
    assert [value for _, value in view.target.options] == [second, first]
    assert view.target.value is first, "reloading keeps the server the student chose"


def test_a_server_that_never_answers_meets_the_deadline(tmp_path):
    silent = serve(tmp_path, "silent", SILENT)
    started = time.monotonic()
    done = widgets.send(silent, "GET", "/", seconds=1)
    assert time.monotonic() - started < 3
    assert done.response == b"" and done.note.startswith("no answer within 1 s")
    view = widgets.explorer(silent)
    view.send_button.click()  # the widget's own deadline (5 s) holds too
    assert "no answer within 5 s" in view.note.value and "(none)" in view.response_view.value


def test_a_crashed_server_shows_exited_and_its_log_in_the_panel(tmp_path):
    crashing = serve(tmp_path, "crashing", CRASHING)
    panel = widgets.server_panel()
    row = panel.rows[0]
    assert "running" in row.status_view.value and crashing.browser_url in row.title.value
    done = widgets.send(crashing, "GET", "/")
    crashing.process.wait(10)
    assert done.response == b""
    row.refresh_button.click()
    assert "exited with code 3" in row.status_view.value
    assert "crashing on purpose: the disk is full" in row.log_view.value
    assert widgets.send(crashing).note.startswith("connection refused")
    assert "crashing has exited with code 3" in widgets.send(crashing).note


def test_the_stop_button_stops_the_server_and_frees_its_port(tmp_path):
    echo = serve(tmp_path, "echo", ECHO, kind="wsgiref")
    panel = widgets.server_panel()
    panel.rows[0].stop_button.click()
    assert "stopped" in panel.rows[0].status_view.value and panel.rows[0].stop_button.disabled
    assert echo not in launched()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", echo.port), timeout=2).close()


def test_the_panel_refresh_adds_servers_launched_after_it(tmp_path):
    panel = widgets.server_panel()
    assert panel.rows == [] and "No server launched" in panel.children[1].value
    serve(tmp_path, "later", ECHO, kind="wsgiref")
    panel.refresh_button.click()
    assert [row.server.name for row in panel.rows] == ["later"]
    assert "wsgiref serving on" in panel.rows[0].log_view.value


def test_an_in_process_wsgi_app_shows_the_environ_it_received():
    def app(environ, start_response):
        start_response("201 Created", [("Content-Type", "text/plain")])
        return [environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))]

    done = widgets.send(app, "PUT", "/items/7?full=1", "X-Colour: teal", "body!")
    assert done.response == b"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n\r\nbody!"
    for line in ("PATH_INFO = '/items/7'", "QUERY_STRING = 'full=1'", "HTTP_X_COLOUR = 'teal'",
                 "REQUEST_METHOD = 'PUT'", "CONTENT_LENGTH = '5'",
                 "SERVER_PROTOCOL = 'HTTP/1.1'"):  # the request shown says HTTP/1.1: so does the environ
        assert line in done.inside
    assert " at 0x" not in done.inside, "no memory addresses: the text is the same on every run"


def test_an_in_process_asgi_app_shows_its_messages():
    async def app(scope, receive, send):
        request = await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-seen", request["body"])]})
        await send({"type": "http.response.body", "body": b"done"})

    view = widgets.explorer(app, method="POST", body="ping")
    view.send_button.click()
    assert "HTTP/1.1 200 OK\\r\\n" in view.response_view.value and "x-seen: ping" in view.response_view.value
    text = view.exchange.inside
    assert "'type': 'http'" in text and "receive() -> {'type': 'http.request', 'body': b'ping'" in text
    assert "send({'type': 'http.response.body', 'body': b'done'})" in text
    assert "ASGI" in view.inside_view.value


def test_an_in_process_app_gets_the_headers_the_request_shows_and_no_connection_header():
    seen = {}

    async def asgi_app(scope, receive, send):
        seen["asgi"] = scope["headers"]
        await receive()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    def wsgi_app(environ, start_response):
        seen["wsgi"] = {k: v for k, v in environ.items() if k.startswith("HTTP_") or k == "CONTENT_LENGTH"}
        start_response("204 No Content", [])
        return []

    for app in (asgi_app, wsgi_app):
        done = widgets.send(app, "POST", "/", "X-Colour: teal", "ping")
        assert b"Connection:" not in done.request, "no connection in-process: no Connection header"
        assert b"Host: 127.0.0.1\r\n" in done.request and b"Content-Length: 4\r\n" in done.request
    assert seen["asgi"] == [(b"host", b"127.0.0.1"), (b"x-colour", b"teal"), (b"content-length", b"4")]
    assert seen["wsgi"] == {"HTTP_HOST": "127.0.0.1", "HTTP_X_COLOUR": "teal", "CONTENT_LENGTH": "4"}
    widgets.send(asgi_app, "GET", "/", "Host: example.org")
    assert seen["asgi"] == [(b"host", b"example.org")], "a Host of the student's own, and only that one"


def test_bad_input_is_explained_and_nothing_is_sent(tmp_path):
    assert widgets.send(None).note.startswith("nothing sent: choose a server")
    echo = serve(tmp_path, "echo", ECHO, kind="wsgiref")
    assert "is not 'Name: value'" in widgets.send(echo, headers="just words").note
    assert "must start with '/'" in widgets.send(echo, path="notes").note
    assert "Latin-1" in widgets.send(echo, headers="X-Name: Zoë ✓").note


def test_the_stored_run_prints_the_same_summary_every_time(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(questions.STORED_RUN, "1")
    said = []
    for attempt in range(2):  # two servers on two ports: one text
        echo = serve(tmp_path, "echo", ECHO, kind="wsgiref")
        assert widgets.explorer(echo, path="/same", headers="X-Colour: red") is None
        assert widgets.server_panel() is None
        said.append(capsys.readouterr().out)
        assert str(echo.port) not in said[-1] and "GMT" not in said[-1] and "CPython" not in said[-1]
        echo.stop()
    assert said[0] == said[1]
    assert "HTTP/1.0 200 OK\\r\\n" in said[0] and "GET /same red " in said[0]
    assert "echo (wsgiref) at http://127.0.0.1:PORT/: running" in said[0]


def test_on_a_hub_the_panel_links_through_the_proxy(tmp_path, monkeypatch, capsys):
    pytest.importorskip("jupyter_server_proxy", reason="the hub's proxy package is not installed")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    monkeypatch.delenv("JUPYTERHUB_PUBLIC_URL", raising=False)
    echo = serve(tmp_path, "echo", ECHO, kind="wsgiref")
    row = widgets.server_panel().rows[0]
    assert f"href='/user/ada/proxy/{echo.port}/'" in row.title.value
    monkeypatch.setenv(questions.STORED_RUN, "1")
    widgets.server_panel()
    assert "echo (wsgiref) at /user/ada/proxy/PORT/: running" in capsys.readouterr().out


def test_an_in_process_app_that_fails_or_never_returns_is_reported():
    def crashing(environ, start_response):
        raise KeyError("HTTP_X_MISSING")

    def endless(environ, start_response):
        while True:
            time.sleep(0.05)

    said = widgets.send(crashing, path="/x")
    assert said.note == "the app raised KeyError: 'HTTP_X_MISSING'" and "PATH_INFO = '/x'" in said.inside
    started = time.monotonic()
    said = widgets.send(endless, seconds=1)
    assert said.note == "the app did not return within 1 s" and time.monotonic() - started < 3


def test_a_body_reads_as_utf8_text_and_bytes_that_are_not_utf8_stay_visible():
    answer = ("HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\n\r\n".encode("latin-1")
              + "café au lait".encode() + b" \xff\xfe")
    shown = widgets.wire_text(answer)
    assert "X-Name: café\\r\\n" in shown, "the head is Latin-1, as HTTP says"
    assert shown.rstrip().endswith("café au lait \\xff\\xfe"), shown
    assert "Ã" not in shown, "UTF-8 read as Latin-1 would show 'cafÃ©'"


@pytest.mark.parametrize("lesson, uses", [
    ("00-welcome", ("explorer(", "server_panel(")),
    ("01-http-from-the-socket-up", ("explorer(", "server_panel(")),
    ("05-flask", ("explorer(",)), ("06-fastapi", ("explorer(",)), ("07-aiohttp", ("explorer(",)),
    ("08-django", ("explorer(",))])
def test_the_lessons_use_the_widgets_and_store_their_summaries(lesson, uses):
    """Lessons 00 and 01 use both widgets, and every framework lesson uses the explorer again; each
    call's stored output is the stored run's summary, not an error or a widget nobody sees in git."""
    notebook = nbformat.read(ROOT / "notebooks" / f"{lesson}.ipynb", as_version=4)
    for call in uses:
        cells = [c for c in notebook.cells if c.cell_type == "code" and f"\n{call}" in f"\n{c.source}"]
        assert cells, f"lesson {lesson} does not call {call}...)"
        for cell in cells:
            text = "".join(o.get("text", "") for o in cell.outputs)
            expected = "Explorer: " if call == "explorer(" else "Server panel: "
            assert expected in text and not any(o.output_type == "error" for o in cell.outputs), (
                f"{lesson}: the stored output of {call}...) is {text[:200]!r}")
