"""Lesson 08's and lab 08's bookmark form refuses what the API refuses (issue 30): an ftp:// url is
not a bookmark, and the form's URLField says its scheme, so Django 5.2 warns nothing."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_contract import files_from_notebook

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = [("notebooks/08-django.ipynb", "apps/djangosite"), ("solutions/08-solution-django.ipynb", "apps/bookmarks_site")]
VALIDATE = """
import json, os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
django.setup()
from bookmarks.forms import BookmarkForm
answers = {}
for url in ("ftp://example.org/file", "javascript:alert(1)", "https://www.djangoproject.com/", "http://example.org/"):
    form = BookmarkForm({"url": url, "title": "A title", "tags": "web"})
    answers[url] = form.is_valid()
print(json.dumps(answers))
"""


@pytest.mark.parametrize("notebook, site", PROJECTS, ids=["lesson", "solution"])
def test_the_form_refuses_ftp_without_a_deprecation_warning(notebook, site, tmp_path):
    files_from_notebook(ROOT / notebook, tmp_path)
    env = dict(os.environ, BOOKMARKS_DB=str(tmp_path / "db.sqlite3"), BOOKMARKS_API_KEY="k",
               DJANGO_SECRET_KEY="a-key-for-this-test-only-" + "x" * 30)
    done = subprocess.run([sys.executable, "-W", "error", "-c", VALIDATE], cwd=tmp_path / site,
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr[-1500:]
    assert json.loads(done.stdout) == {"ftp://example.org/file": False, "javascript:alert(1)": False,
                                       "https://www.djangoproject.com/": True, "http://example.org/": True}
