"""Browser-side URLs: direct on a laptop, through jupyter-server-proxy on JupyterHub or Binder;
and the way back: a link a server answers, as the proxy forwards it to that server."""
import shutil
from pathlib import Path

import pytest

from coursekit import launch
from coursekit.urls import browser_url, on_server, proxy_prefix

HUB_APPS = Path(__file__).resolve().parent / "apps" / "hub"


def test_local_url_is_loopback(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert browser_url(8123) == "http://127.0.0.1:8123/"
    assert proxy_prefix(8123) == ""


def test_hub_url_goes_through_the_proxy(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    monkeypatch.delenv("JUPYTERHUB_PUBLIC_URL", raising=False)
    assert proxy_prefix(8123) == "/user/ada/proxy/8123/"
    assert browser_url(8123) == "/user/ada/proxy/8123/"
    monkeypatch.setenv("JUPYTERHUB_PUBLIC_URL", "https://hub.example.org/")
    assert browser_url(8123) == "https://hub.example.org/user/ada/proxy/8123/"


ANSWERED = "http://127.0.0.1:8123/api/bookmarks"
PREFIX = "/user/ada/proxy/8123/"


@pytest.mark.parametrize("link, prefix, expected", [
    # What Django (FORCE_SCRIPT_NAME) and FastAPI (--root-path) build behind the hub.
    ("/user/ada/proxy/8123/api/bookmarks/4", PREFIX, "http://127.0.0.1:8123/api/bookmarks/4"),
    ("http://127.0.0.1:8123/user/ada/proxy/8123/api/bookmarks/4", PREFIX,
     "http://127.0.0.1:8123/api/bookmarks/4"),
    ("/user/ada/proxy/8123/?tag=web&page=2", PREFIX, "http://127.0.0.1:8123/?tag=web&page=2"),
    ("/user/ada/proxy/8123", "/user/ada/proxy/8123", "http://127.0.0.1:8123/"),
    # What Flask builds when no proxy sent X-Forwarded-Prefix: already the server's own path.
    ("/api/bookmarks/4", PREFIX, "http://127.0.0.1:8123/api/bookmarks/4"),
    ("4", PREFIX, "http://127.0.0.1:8123/api/4"),
    ("?tag=web", PREFIX, "http://127.0.0.1:8123/api/bookmarks?tag=web"),
    # Only the whole prefix counts, and only on the server's own address.
    ("/user/ada/proxy/81234/x", PREFIX, "http://127.0.0.1:8123/user/ada/proxy/81234/x"),
    ("https://example.org/user/ada/proxy/8123/x", PREFIX, "https://example.org/user/ada/proxy/8123/x"),
    # Without a prefix nothing is stripped, even a path that looks proxied.
    ("/user/ada/proxy/8123/x", "", "http://127.0.0.1:8123/user/ada/proxy/8123/x"),
], ids=["django path", "fastapi absolute URL", "query kept", "the prefix alone", "no prefix in the link",
        "relative", "query only", "a longer port", "another site", "no prefix given"])
def test_a_link_leads_where_the_proxy_would_forward_it(link, prefix, expected):
    assert on_server(link, ANSWERED, prefix) == expected


@pytest.fixture
def echo(tmp_path):
    shutil.copy(HUB_APPS / "prefix_echo.py", tmp_path / "prefix_echo.py")
    return tmp_path / "prefix_echo.py"


@pytest.mark.servers
def test_launch_gives_the_server_its_proxy_prefix_and_remembers_it(echo, monkeypatch):
    monkeypatch.setenv("COURSEKIT_URL_PREFIX", "/user/someone/proxy/1/")  # the kernel's: not the server's
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    local = launch(echo, quiet=True)
    assert local.get().text == "(none)"
    assert local.url_prefix == ""
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    hub = launch(echo, quiet=True)
    assert hub.get().text == f"/user/ada/proxy/{hub.port}/"
    assert hub.url_prefix == f"/user/ada/proxy/{hub.port}/"  # what checks strip from its links


@pytest.mark.servers
@pytest.mark.parametrize("hub", [False, True], ids=["locally", "on a hub"])
def test_a_prefix_passed_in_env_wins(echo, monkeypatch, hub):
    """Lesson 08 sets the prefix by hand to show Django's links outside JupyterHub (issue 30)."""
    if hub:
        monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    else:
        monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    server = launch(echo, env={"COURSEKIT_URL_PREFIX": "/user/ada/proxy/8000/"}, quiet=True)
    assert server.get().text == "/user/ada/proxy/8000/"
    assert server.url_prefix == "/user/ada/proxy/8000/"
