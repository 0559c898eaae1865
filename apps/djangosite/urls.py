"""The URLconf, first version: one function view, and the admin."""
from django.contrib import admin
from django.http import JsonResponse
from django.urls import path


def health(request):
    """A function view: an HttpRequest in, an HttpResponse out."""
    return JsonResponse({"status": "ok", "method": request.method, "path": request.path,
                         "from_environ": request.META["PATH_INFO"], "wsgi": "wsgi.input" in request.META})


urlpatterns = [
    path("health", health),
    path("admin/", admin.site.urls),
]
