"""Deployment settings of the lesson's and the solution's Django projects (issue 30): no start without
DJANGO_SECRET_KEY (and a message that names it), never a random key per process; secure cookies and
HSTS unless DJANGO_PLAIN_HTTP=1; the hub's origin trusted for CSRF; check --deploy clean in production."""
import json
import os
import secrets
import subprocess
import sys

import pytest

from test_django_patch_race import PROJECTS

PROBE = """
import django, json
django.setup()
from django.conf import settings
print(json.dumps({"key": settings.SECRET_KEY, "session": settings.SESSION_COOKIE_SECURE,
                  "csrf": settings.CSRF_COOKIE_SECURE, "hsts": settings.SECURE_HSTS_SECONDS,
                  "origins": settings.CSRF_TRUSTED_ORIGINS, "debug": settings.DEBUG}))
"""


def in_project(folder, args, **env):
    """Run python ARGS in the project's folder with only `env` for the Django and hub variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JUPYTERHUB_"))}
    return subprocess.run([sys.executable, *args], cwd=folder, capture_output=True, text=True, timeout=120,
                          env={**base, "DJANGO_SETTINGS_MODULE": "settings", **env})


@pytest.fixture(params=PROJECTS, ids=lambda p: p.id)
def project(request, tmp_path):
    return request.param.prepare(tmp_path).parent, {"BOOKMARKS_DB": str(tmp_path / "db.sqlite3")}


@pytest.mark.parametrize("key", [None, "", "   "], ids=["unset", "empty", "spaces"])
def test_no_start_without_a_secret_key_and_the_message_names_the_variable(project, key):
    folder, env = project
    done = in_project(folder, ["-c", PROBE], **env, **({} if key is None else {"DJANGO_SECRET_KEY": key}))
    assert done.returncode != 0, done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured" in last and "DJANGO_SECRET_KEY" in last, last


def test_the_key_is_the_environment_s_and_secure_cookies_hsts_and_hub_origin_are_on_by_default(project):
    folder, env = project
    key = secrets.token_urlsafe(50)
    done = in_project(folder, ["-c", PROBE], **env, DJANGO_SECRET_KEY=key,
                      JUPYTERHUB_PUBLIC_URL="https://hub.example.org/")
    assert done.returncode == 0, done.stderr[-500:]
    seen = json.loads(done.stdout)
    assert seen == {"key": key, "session": True, "csrf": True, "hsts": 3600,
                    "origins": ["https://hub.example.org"], "debug": False}
    plain = json.loads(in_project(folder, ["-c", PROBE], **env, DJANGO_SECRET_KEY=key, DJANGO_PLAIN_HTTP="1").stdout)
    assert (plain["session"], plain["csrf"], plain["hsts"], plain["origins"]) == (False, False, 0, [])


def test_check_deploy_is_clean_in_production_and_names_the_plain_http_settings(project):
    folder, env = project
    key = secrets.token_urlsafe(50)
    production = in_project(folder, ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env,
                            DJANGO_SECRET_KEY=key)
    assert production.returncode == 0, production.stdout + production.stderr
    plain = in_project(folder, ["manage.py", "check", "--deploy"], **env, DJANGO_SECRET_KEY=key, DJANGO_PLAIN_HTTP="1")
    said = plain.stdout + plain.stderr
    assert all(code in said for code in ("security.W004", "security.W012", "security.W016")), said
