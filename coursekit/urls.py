"""Where a student's browser finds a server: directly on 127.0.0.1, or through JupyterHub's proxy."""
import importlib.util
import os


def proxy_prefix(port):
    """The jupyter-server-proxy path for `port` when running under JupyterHub or Binder, else ''."""
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if not prefix or importlib.util.find_spec("jupyter_server_proxy") is None:
        return ""
    return f"{prefix.rstrip('/')}/proxy/{port}/"


def browser_url(port):
    """The URL to open in the student's browser for a server on 127.0.0.1:`port`."""
    prefix = proxy_prefix(port)
    if not prefix:
        return f"http://127.0.0.1:{port}/"
    # A path alone works as a link from the same JupyterHub page; a public URL is used if known.
    return os.environ.get("JUPYTERHUB_PUBLIC_URL", "").rstrip("/") + prefix
