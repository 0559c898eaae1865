"""A one-file Django project: settings, one view and manage.py together."""
import os
import sys

from django.conf import settings
from django.http import HttpResponse
from django.urls import path, reverse

settings.configure(
    DEBUG=False,
    SECRET_KEY="test-only-not-secret",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    # Behind JupyterHub's proxy, coursekit puts the browser's path prefix here: links then carry it.
    FORCE_SCRIPT_NAME=os.environ.get("COURSEKIT_URL_PREFIX", "").rstrip("/") or None,
)


def index(request):
    return HttpResponse("django", content_type="text/plain")


def where(request):
    return HttpResponse(reverse("index"), content_type="text/plain")


urlpatterns = [path("", index, name="index"), path("where", where)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
