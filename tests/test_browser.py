"""The contract's HTML page in a real browser: Debian's chromium, headless, driven by Playwright.

The Flask solution of lab 05 is served by gunicorn; the browser loads its page, an injected
<script> in a title must not run, and the tag link and the filter form must round-trip. The
browser (conftest's `browser` and `open_page`) may reach only the server under test. Without
/usr/bin/chromium the test is skipped, with the reason shown by `-ra`.
"""
import os
import secrets

import pytest
import requests

from coursekit.contract import ENV_API_KEY, ENV_DB
from coursekit.servers import launch
from test_contract import files_from_notebook

pytestmark = pytest.mark.servers


@pytest.fixture
def service(tmp_path):
    """The Flask solution under gunicorn with three bookmarks, one of them an XSS attempt."""
    files_from_notebook(os.path.join(os.path.dirname(__file__), "..", "solutions", "05-solution-flask.ipynb"),
                        tmp_path)
    key = secrets.token_urlsafe(24)
    server = launch(tmp_path / "apps" / "bookmarks_app.py", "gunicorn", app="create_app()", quiet=True,
                    env={ENV_DB: str(tmp_path / "bookmarks.sqlite3"), ENV_API_KEY: key}, timeout=20)
    for url, title, tags in [
        ("https://flask.palletsprojects.com/", "Flask documentation", ["python", "web"]),
        ("https://www.sqlite.org/", "SQLite", ["database"]),
        ("https://example.org/xss",
         '<script>window.owned = true; document.title = "owned"; alert("owned")</script>', ["web"]),
    ]:
        response = server.post("/api/bookmarks", json={"url": url, "title": title, "tags": tags},
                               headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 201, response.text
    yield server
    server.stop()


@pytest.fixture
def page(open_page, service):
    """A headless chromium page that may talk to the service only, and keeps the dialogs it saw."""
    page = open_page(service.url)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return page


def titles(page):
    return page.locator("li > a:not(.tag)").all_inner_texts()


def test_page_lists_bookmarks_and_an_injected_script_stays_text(page, service):
    page.goto(service.url)
    shown = titles(page)
    assert "Flask documentation" in shown and "SQLite" in shown
    assert any(t.startswith("<script>window.owned") for t in shown), f"the XSS title is not shown as text: {shown}"
    assert page.evaluate("window.owned === undefined"), "the injected script ran"
    assert page.title() != "owned" and page.dialogs == []
    assert page.locator("a", has_text="SQLite").get_attribute("href") == "https://www.sqlite.org/"


def test_tag_link_and_filter_form_round_trip(page, service):
    page.goto(service.url)
    page.locator("a.tag", has_text="database").first.click()
    page.wait_for_url("**/?tag=database")
    assert titles(page) == ["SQLite"]

    page.fill("input[name=tag]", "python")
    page.click("button[type=submit]")
    page.wait_for_url("**/?tag=python")
    assert titles(page) == ["Flask documentation"]
    assert requests.get(page.url, timeout=5).status_code == 200


def test_the_browser_may_reach_only_the_server_under_test(page, service):
    """open_page aborts every other request in the browser itself: nothing leaves the machine."""
    page.goto(service.url)
    outcome = page.evaluate("fetch('https://example.org/').then(() => 'reached', () => 'refused')")
    assert outcome == "refused" and page.blocked == ["https://example.org/"], (outcome, page.blocked)
