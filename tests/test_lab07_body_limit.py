"""Lab 07's body limit: the solution answers 413 from the headers alone, before the client sends
the body it announced, and stops a chunked body at the limit (the two parts check 7.3 adds)."""
import secrets

import pytest

from coursekit.contract import ENV_API_KEY, ENV_DB
from coursekit.labs.lab07 import chunked_post, status_before_body
from coursekit.servers import launch
from test_contract import ROOT, files_from_notebook


@pytest.fixture
def solution_server(tmp_path):
    files_from_notebook(ROOT / "solutions" / "07-solution-aiohttp.ipynb", tmp_path)
    key = secrets.token_urlsafe(24)
    server = launch(tmp_path / "apps" / "bookmarks_aiohttp.py", "aiohttp", app="create_app",
                    env={ENV_DB: str(tmp_path / "bookmarks.sqlite3"), ENV_API_KEY: key},
                    name="lab07-body-limit", quiet=True, timeout=20)
    yield server, key
    server.stop()


@pytest.mark.servers
def test_a_body_announced_too_large_gets_413_before_it_is_sent(solution_server):
    server, key = solution_server
    assert status_before_body(server, key).startswith("HTTP/1.1 413 ")


@pytest.mark.servers
def test_a_chunked_body_past_the_limit_gets_413_and_is_not_stored(solution_server):
    server, key = solution_server
    assert chunked_post(server, key, "big").status_code == 413
    assert server.get("/api/bookmarks", params={"tag": "big"}).json()["total"] == 0
    assert chunked_post(server, key, "small", size=1024).status_code == 201  # the probe itself is valid
