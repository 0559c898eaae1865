"""Settings of the bookmarks site, all read from the environment (12-factor): nothing secret in the code."""
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent


def flag(name):
    """True when the environment variable `name` is "1": switches are off unless turned on."""
    return os.environ.get(name) == "1"


def secret_key():
    """Sessions and CSRF tokens are signed with this key. Without DJANGO_SECRET_KEY, a random key
    per start: safe, but every login ends when the server restarts."""
    return os.environ.get("DJANGO_SECRET_KEY") or get_random_secret_key()


# DEBUG shows tracebacks and settings to whoever asks: only ever on when you turn it on.
DEBUG = flag("DJANGO_DEBUG")
SECRET_KEY = secret_key()
TIME_ZONE = "UTC"  # log lines and stored times in UTC (Django would set the process to America/Chicago)
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
BOOKMARKS_API_KEY = os.environ.get("BOOKMARKS_API_KEY", "")


def database(url):
    """Django's DATABASES entry for a database URL: postgresql://user:password@host:port/name."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL must start with postgresql://, not {parts.scheme}://")
    return {"ENGINE": "django.db.backends.postgresql", "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""), "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "", "PORT": str(parts.port or "")}


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database(os.environ["DATABASE_URL"])}
elif os.environ.get("BOOKMARKS_DB"):
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["BOOKMARKS_DB"]}}
else:
    raise ImproperlyConfigured("Set BOOKMARKS_DB (an SQLite file) or DATABASE_URL (PostgreSQL).")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "bookmarks",
]
# The onion of lesson 03: a request goes down this list, the response comes back up it.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bookmarks.middleware.count_queries",
]
ROOT_URLCONF = os.environ.get("DJANGO_URLCONF", "urls")  # one project, several URLconfs
WSGI_APPLICATION = "wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

# Static files: in development the staticfiles app serves them (runserver, DEBUG on); in
# production `manage.py collectstatic` copies them to STATIC_ROOT for the web server in front.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "collected-static"

# Tracebacks of failed requests go to the server's log (stderr), whatever DEBUG says.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "index"
LOGOUT_REDIRECT_URL = "index"
DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # a larger body raises RequestDataTooBig (the API answers 413)

# Behind JupyterHub's proxy every URL starts with a prefix that is stripped before the request
# arrives; FORCE_SCRIPT_NAME puts it back in every URL Django builds (reverse, redirects, static).
FORCE_SCRIPT_NAME = os.environ.get("COURSEKIT_URL_PREFIX", "").rstrip("/") or None
# REST framework (the second version of the JSON API): JSON out, and errors in the contract's shape.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "bookmarks.drf_contract.contract_errors",
    "UNAUTHENTICATED_USER": None,
}
