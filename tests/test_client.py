"""show() prints an HTTP exchange deterministically; show_raw() makes CRLFs visible."""
import pytest

from coursekit import launch, show
from coursekit.client import show_raw


@pytest.mark.servers
def test_show_prints_status_chosen_headers_and_body(app_file, capsys):
    server = launch(app_file("hello_wsgi.py"), "wsgiref", quiet=True)
    show(server.get("/"))
    assert capsys.readouterr().out == (
        "HTTP/1.0 200 OK\nContent-Type: text/plain\nContent-Length: 4\n\nwsgi\n")
    show(server.get("/"), "Content-Length", body=False)
    assert capsys.readouterr().out == "HTTP/1.0 200 OK\nContent-Length: 4\n"


def test_show_raw_makes_line_ends_visible(capsys):
    show_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    assert capsys.readouterr().out == "HTTP/1.1 200 OK\\r\\n\nContent-Length: 2\\r\\n\n\\r\\n\nhi\n"
