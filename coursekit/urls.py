"""Where a student's browser finds a server: directly on 127.0.0.1, or through JupyterHub's proxy."""
import html
import importlib.util
import os


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
