"""Lesson 03's hand-written WSGI server serves, unmodified, its own site, Flask and Django over real HTTP.

The server and the sample apps are taken from the %%writefile cells of the lesson notebook, so the
test checks exactly the code that students read.
"""
from pathlib import Path

import pytest

from coursekit.servers import launch
from test_conformance import written_files  # `%%writefile` cells, `-a` included

pytestmark = pytest.mark.servers

LESSON = Path(__file__).resolve().parent.parent / "notebooks" / "03-wsgi-by-hand.ipynb"
NEEDED = ["wsgi_server.py", "wsgi_http.py", "wsgi_environ.py", "wsgi_web.py", "wsgi_middleware.py", "wsgi_site.py",
          "wsgi_flask_sample.py", "wsgi_django_sample.py"]


@pytest.fixture
def lesson_apps(tmp_path):
    files = written_files(LESSON)
    missing = [name for name in NEEDED if name not in files]
    assert not missing, f"the lesson no longer writes {missing}"
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    return tmp_path


def serve(folder, target):
    return launch(folder / "wsgi_server.py", kind="script", args=[target],
                  name=f"test-{target.replace(':', '-')}", quiet=True)


def test_serves_flask_sample(lesson_apps):
    server = serve(lesson_apps, "wsgi_flask_sample:app")
    response = server.get("/hello/Ada", params={"q": "x"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"framework": "Flask", "hello": "Ada", "query": "x"}
    assert server.post("/echo", json={"n": [1, 2]}).json() == {"received": {"n": [1, 2]}}
    assert server.get("/caf%C3%A9").status_code == 404
    assert server.get("/hello/caf%C3%A9").json()["hello"] == "café"


def test_serves_django_sample(lesson_apps):
    server = serve(lesson_apps, "wsgi_django_sample:app")
    response = server.get("/hello/Grace", params={"q": "y"})
    assert response.status_code == 200
    assert response.json() == {"framework": "Django", "hello": "Grace", "query": "y"}
    assert server.get("/nothing").status_code == 404


def test_serves_the_lessons_site_with_middleware(lesson_apps):
    server = serve(lesson_apps, "wsgi_site:app")
    assert server.get("/hello/Ada").text == "Hello, Ada!\n"
    assert server.get("/admin/stats").status_code == 401
    assert server.get("/boom").status_code == 500
    echoed = server.post("/echo", data=b"abc", headers={"Content-Type": "text/plain"})
    assert echoed.content == b"abc"


def test_passes_the_wsgi_validator(lesson_apps):
    (lesson_apps / "checked.py").write_text(
        "from wsgiref.validate import validator\n"
        "from wsgi_flask_sample import app as flask_app\n"
        "app = validator(flask_app)\n")
    server = serve(lesson_apps, "checked:app")
    assert server.get("/hello/Ada").status_code == 200
    assert server.post("/echo", json=[1]).json() == {"received": [1]}
    server.stop()
    log = server.log_path.read_text()
    assert "AssertionError" not in log and "garbage collected" not in log, log
