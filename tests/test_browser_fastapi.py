"""FastAPI's /docs page in a real browser (Debian's chromium driven by Playwright): it loads, lists the
contract's operations, and "Try it out" sends a request that succeeds, both directly and behind a
prefix-stripping proxy like JupyterHub's (with and without uvicorn's --root-path)."""
import http.client
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coursekit.contract import ENV_API_KEY, ENV_DB
from coursekit.servers import HOST, launch
from test_contract import IMPLEMENTATIONS

OPERATIONS = {("GET", "/health"), ("GET", "/api/bookmarks"), ("POST", "/api/bookmarks"),
              ("GET", "/api/bookmarks/{bookmark_id}"), ("PATCH", "/api/bookmarks/{bookmark_id}"),
              ("DELETE", "/api/bookmarks/{bookmark_id}"), ("GET", "/")}
SECONDS = 20

pytestmark = pytest.mark.servers


class PrefixProxy:
    """A tiny reverse proxy that serves `target` under `prefix` and strips the prefix, as
    jupyter-server-proxy does; any other path is a 404."""

    def __init__(self, prefix, target_port):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def forward(self):
                if not self.path.startswith(proxy.prefix + "/"):
                    proxy.refused.append((self.command, self.path))
                    self.send_error(404, "not under the proxy's prefix")
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                upstream = http.client.HTTPConnection(HOST, target_port, timeout=10)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
                upstream.request(self.command, self.path[len(proxy.prefix):], body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                proxy.seen.append((self.command, self.path))
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_OPTIONS = forward

            def log_message(self, *args):
                pass

        self.prefix, self.seen, self.refused = prefix, [], []
        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self):
        return f"http://{HOST}:{self.server.server_address[1]}/"

    @property
    def url(self):
        return f"{self.origin}{self.prefix[1:]}/"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def service(browser, tmp_path):
    """The FastAPI solution of lab 06, launched on a fresh database; returns a function that launches it."""
    implementation = next(i for i in IMPLEMENTATIONS if i.id == "fastapi")
    path = implementation.prepare(tmp_path)
    env = {ENV_DB: str(tmp_path / "bookmarks.sqlite3"), ENV_API_KEY: secrets.token_urlsafe(24)}
    started = []

    def start(args=()):
        server = launch(path, "uvicorn", env=env, args=list(args), name=f"browser-fastapi-{len(started)}",
                        quiet=True, timeout=SECONDS)
        started.append(server)
        title = f"Seen in the browser {secrets.token_hex(3)}"
        created = server.post("/api/bookmarks", json={"url": "https://example.org/", "title": title},
                              headers={"Authorization": f"Bearer {env[ENV_API_KEY]}"})
        assert created.status_code == 201, created.text
        return server, title
    yield start
    for server in started:
        server.stop()


def listed_operations(page):
    page.wait_for_selector(".opblock-summary", timeout=SECONDS * 1000)
    methods = page.locator(".opblock-summary-method").all_inner_texts()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    return {(m.strip().upper(), p.strip().replace("\u200b", "")) for m, p in zip(methods, paths)}


def try_list_bookmarks(page):
    """Unfold GET /api/bookmarks, press "Try it out" and "Execute"; return (status, body) shown."""
    block = page.locator(".opblock-get", has=page.locator(".opblock-summary-path[data-path='/api/bookmarks']"))
    block.locator(".opblock-summary").first.click()
    block.get_by_role("button", name="Try it out").click()
    block.get_by_role("button", name="Execute").click()
    live = block.locator(".live-responses-table .response .response-col_status").first
    live.wait_for(timeout=SECONDS * 1000)
    body = block.locator(".live-responses-table .response-col_description pre").first.inner_text()
    return live.inner_text().strip(), body


def test_docs_list_the_contract_and_try_it_out_works(open_page, service):
    server, title = service()
    page = open_page(server.url)
    page.goto(server.url + "docs", timeout=SECONDS * 1000)
    assert OPERATIONS <= listed_operations(page), listed_operations(page)
    status, body = try_list_bookmarks(page)
    assert status.startswith("200") and title in body, (status, body[:300])
    assert page.blocked == [], page.blocked  # the docs need nothing from the internet


def test_docs_work_behind_a_proxy_prefix_with_root_path(open_page, service):
    prefix = "/user/student/proxy/8000"
    server, title = service(["--root-path", prefix])
    with PrefixProxy(prefix, server.port) as proxy:
        page = open_page(proxy.origin)  # the browser sees the proxy only, as behind JupyterHub
        page.goto(proxy.url + "docs", timeout=SECONDS * 1000)
        assert OPERATIONS <= listed_operations(page)
        status, body = try_list_bookmarks(page)
        assert status.startswith("200") and title in body, (status, body[:300])
        assert page.blocked == [], page.blocked
        # Everything went through the proxy under the prefix: the schema, and the request "Try it out" sent.
        assert ("GET", f"{prefix}/openapi.json") in proxy.seen
        assert any(m == "GET" and re.match(re.escape(prefix) + r"/api/bookmarks(\?|$)", p) for m, p in proxy.seen)


def test_without_root_path_the_docs_behind_the_proxy_cannot_find_the_schema(open_page, service):
    """The control: the same proxy without --root-path. The page asks for Swagger UI's files outside the
    prefix, the proxy refuses them, and nothing is listed: the test above can fail."""
    prefix = "/user/student/proxy/8000"
    server, _ = service()
    with PrefixProxy(prefix, server.port) as proxy:
        page = open_page(proxy.origin)
        page.goto(proxy.url + "docs", timeout=SECONDS * 1000)
        page.wait_for_load_state("networkidle", timeout=SECONDS * 1000)
        assert page.locator(".opblock-summary").count() == 0
    assert ("GET", "/static-offline-docs/swagger-ui-bundle.js") in proxy.refused, proxy.refused
