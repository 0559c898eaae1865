"""Lab 08's Django site in a real browser: Debian's chromium, headless, driven by Playwright.

The solution is served by gunicorn with a superuser made by createsuperuser. The browser logs in to
the admin and adds a bookmark there, submits the lab's form as a logged-in user, and a page on
another site (evil.example, answered by the test itself) posts a form to the site: Django must
refuse it with 403. The browser may reach only the site and that page. Without /usr/bin/chromium
the test is skipped, with the reason shown by `-ra`.
"""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.contract import ENV_API_KEY, ENV_DB
from coursekit.servers import launch
from test_contract import files_from_notebook

ROOT = Path(__file__).resolve().parent.parent
EVIL = "https://evil.example/"
USER = "teacher"
pytestmark = pytest.mark.servers


@pytest.fixture
def site(browser, tmp_path):
    """The lab 08 solution under gunicorn, migrated, with a superuser; yields (server, password)."""
    files_from_notebook(ROOT / "solutions" / "08-solution-django.ipynb", tmp_path)
    folder = tmp_path / "apps" / "bookmarks_site"
    password = secrets.token_urlsafe(16)
    env = {ENV_DB: str(tmp_path / "bookmarks.sqlite3"), ENV_API_KEY: secrets.token_urlsafe(24)}
    for args in (["makemigrations", "bookmarks"], ["migrate", "--noinput"],
                 ["createsuperuser", "--noinput", "--username", USER, "--email", "t@example.org"]):
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=folder, capture_output=True, text=True,
                              timeout=120, env=dict(os.environ, DJANGO_SUPERUSER_PASSWORD=password, **env))
        assert done.returncode == 0, done.stdout + done.stderr
    server = launch(folder / "wsgi.py", "gunicorn", app="application", env=env, quiet=True, timeout=20)
    yield server, password
    server.stop()


@pytest.fixture
def page(open_page, site):
    """A headless chromium page that may reach the site, and evil.example as the test answers it."""
    server = site[0]
    forged = (f'<form id="f" method="post" action="{server.url}new/">'
              '<input name="url" value="https://evil.example/"><input name="title" value="Forged">'
              '<input name="tags" value=""></form><script>document.getElementById("f").submit()</script>')
    return open_page(server.url, fake={EVIL: forged})


def log_in(page, url, password):
    page.goto(url)
    page.fill("input[name=username]", USER)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.locator("form [type=submit]").last.click()


def test_admin_login_and_add_a_bookmark(page, site):
    server, password = site
    log_in(page, server.url + "admin/login/?next=/admin/", password)
    assert page.locator("a[href$='/admin/bookmarks/bookmark/']").count() >= 1, page.content()[:500]
    page.goto(server.url + "admin/bookmarks/bookmark/add/")
    page.fill("input[name=url]", "https://docs.djangoproject.com/en/5.2/ref/contrib/admin/")
    page.fill("input[name=title]", "The admin site")
    page.fill("input[name='tags-0-name']", "django")
    with page.expect_navigation():
        page.click("input[name=_save]")
    assert "was added successfully" in page.content()
    page.goto(server.url)
    assert "The admin site" in page.locator("li > a:not(.tag)").all_inner_texts()
    assert page.locator("a.tag", has_text="django").count() == 1


def test_the_lab_form_saves_for_a_logged_in_user(page, site):
    server, password = site
    page.goto(server.url + "new/")
    assert "/accounts/login/" in page.url  # login_required sent the visitor to log in
    log_in(page, page.url, password)
    assert page.url == server.url + "new/"
    page.fill("input[name=url]", "not a url")
    page.fill("input[name=title]", "Broken")
    # The browser itself refuses to send it (Django renders <input type="url">); turn that off to
    # see the server's validation, which is the one that counts.
    page.eval_on_selector("main form", "form => form.noValidate = true")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "Enter a valid URL." in page.content()
    page.fill("input[name=url]", "https://www.djangoproject.com/")
    page.fill("input[name=title]", "Django")
    page.fill("input[name=tags]", "web, python")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert page.url == server.url
    item = page.locator("li", has_text="Django")
    assert item.locator("a.tag").all_inner_texts() == ["web", "python"]
    assert f"added by {USER}" in item.inner_text()
    assert "Broken" not in page.content()


def test_a_cross_site_form_post_is_refused(page, site):
    server, password = site
    log_in(page, server.url + "accounts/login/", password)
    with page.expect_response(server.url + "new/") as answer:
        page.goto(EVIL)
    assert answer.value.status == 403
    assert "CSRF verification failed" in page.content()
    page.goto(server.url)
    assert "Forged" not in page.content()
