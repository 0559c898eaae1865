"""Browser-side URLs: direct on a laptop, through jupyter-server-proxy on JupyterHub or Binder."""
from coursekit.urls import browser_url, proxy_prefix


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
