"""Where a student's browser finds a server: directly on 127.0.0.1, or through JupyterHub's proxy."""
import html
import importlib.util
import os
from urllib.parse import urljoin, urlsplit, urlunsplit


def proxied() -> tuple[bool, str]:
    """Whether browsers reach servers through jupyter-server-proxy, and why (a sentence)."""
    if not os.environ.get("JUPYTERHUB_SERVICE_PREFIX"):
        return False, "JUPYTERHUB_SERVICE_PREFIX is not set, so this is not JupyterHub or Binder"
    if importlib.util.find_spec("jupyter_server_proxy") is None:
        return False, "on JupyterHub or Binder, but jupyter-server-proxy is not installed"
    return True, "on JupyterHub or Binder (JUPYTERHUB_SERVICE_PREFIX is set) with jupyter-server-proxy"


def proxy_prefix(port: int) -> str:
    """The jupyter-server-proxy path for `port` when running under JupyterHub or Binder, else ''."""
    if not proxied()[0]:
        return ""
    return f"{os.environ['JUPYTERHUB_SERVICE_PREFIX'].rstrip('/')}/proxy/{port}/"


def on_server(link: str, answered_at: str, prefix: str = "") -> str:
    """The URL on the server itself that `link` (a Location or an href in the answer from
    `answered_at`) leads to. jupyter-server-proxy forwards PREFIX/rest to the server as /rest, so
    a link on the server's own address that starts with the `prefix` it was given loses it here."""
    target = urljoin(answered_at, link)
    root = "/" + prefix.strip("/") if prefix.strip("/") else ""
    parts = urlsplit(target)
    if not root or parts.netloc != urlsplit(answered_at).netloc:
        return target  # no prefix, or another site: nothing to strip
    if parts.path != root and not parts.path.startswith(root + "/"):
        return target  # a path without the prefix already names the server's own path
    return urlunsplit(parts._replace(path=parts.path[len(root):] or "/"))


def browser_url(port: int) -> str:
    """The URL to open in the student's browser for a server on 127.0.0.1:`port`."""
    prefix = proxy_prefix(port)
    if not prefix:
        return f"http://127.0.0.1:{port}/"
    # A path alone works as a link from the same JupyterHub page; a public URL is used if known.
    return os.environ.get("JUPYTERHUB_PUBLIC_URL", "").rstrip("/") + prefix


def announce(name: str, kind: str, url: str, port: int) -> None:
    """Say that a server runs; behind a hub's proxy, also show a link the student can click."""
    print(f"{name} ({kind}) is running at {url}")
    link = browser_url(port)
    if link == url:
        return  # locally the address above is the link (JupyterLab makes it clickable)
    text = f"Open it in your browser at {link}"
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    anchor = f'<a href="{html.escape(link)}" target="_blank">{html.escape(link)}</a>'
    display({"text/plain": text, "text/html": f"Open it in your browser at {anchor}"}, raw=True)
