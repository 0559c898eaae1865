"""Plausible wrong answers to lab 08 (and one valid alternative per exercise), as plain data.

Each entry: the exercise, a label, the file whose %%writefile cell is replaced ("cell"), the
replacement source ("source": the solution's file with the listed changes), a substring the
check's report must contain ("hint"), or valid=True for an answer that must pass. An entry with
after_migrations=True is written after makemigrations ran: a model changed without a migration.
tests/test_lab08.py drives every entry through the real checks.
"""
from pathlib import Path

import nbformat

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "08-django.ipynb"
SITE = "apps/bookmarks_site"
SETTINGS, MODELS, API = f"{SITE}/settings.py", f"{SITE}/bookmarks/models.py", f"{SITE}/bookmarks/api.py"
VIEWS, FORMS, ADMIN = f"{SITE}/bookmarks/views.py", f"{SITE}/bookmarks/forms.py", f"{SITE}/bookmarks/admin.py"
INDEX = f"{SITE}/bookmarks/templates/bookmarks/index.html"
NEW = f"{SITE}/bookmarks/templates/bookmarks/new.html"


def solution_file(name):
    """The source that the solution's last %%writefile cell for `name` writes."""
    found = None
    for cell in nbformat.read(SOLUTION, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith(f"%%writefile {name}\n"):
            found = cell.source.split("\n", 1)[1]
    if found is None:
        raise LookupError(f"the solution writes no {name}")
    return found


def entry(exercise, label, cell, changes, hint=None, valid=False, after_migrations=False):
    """changes: (old, new) pairs, each `old` found exactly once in the solution's file."""
    source = solution_file(cell)
    for old, new in changes:
        if source.count(old) != 1:
            raise LookupError(f"{old!r} is not in {cell} exactly once: update tests/wrong_answers_lab08.py")
        source = source.replace(old, new)
    return {"exercise": exercise, "label": label, "cell": cell, "source": source, "hint": hint,
            "valid": valid, "after_migrations": after_migrations}


HARD_CODED_KEY = '"django-insecure-9x!s@k3#lq0v2p^f7w&n8z(r)t$y4u1e5m6b"'


def wrong_answers():
    return [
        # 8.1 settings, model, migration
        entry("8.1", "DEBUG=True with a hard-coded secret", SETTINGS,
              [('DEBUG = flag("DJANGO_DEBUG")\nSECRET_KEY = secret_key()\n',
                f"DEBUG = True\nSECRET_KEY = {HARD_CODED_KEY}\n")], "shows tracebacks"),
        entry("8.1", "a hard-coded fallback secret key", SETTINGS,
              [('return os.environ.get("DJANGO_SECRET_KEY") or get_random_secret_key()',
                f'return os.environ.get("DJANGO_SECRET_KEY", {HARD_CODED_KEY})')], "the same key on every start"),
        entry("8.1", "a field added without making its migration", MODELS,
              [('    created = models.DateTimeField(auto_now_add=True)\n',
                '    created = models.DateTimeField(auto_now_add=True)\n    notes = models.TextField(blank=True)\n')],
              "No changes detected", after_migrations=True),
        entry("8.1", "Tag's foreign key without related_name", MODELS,
              [('models.ForeignKey(Bookmark, related_name="tags", on_delete=models.CASCADE)',
                "models.ForeignKey(Bookmark, on_delete=models.CASCADE)")], "related_name"),
        entry("8.1", "flag() with a default", SETTINGS,
              [('return os.environ.get(name) == "1"', 'return os.environ.get(name, "0").strip() == "1"')],
              valid=True),
        # 8.2 routes and storage
        entry("8.2", "no Location header on 201", API,
              [('        response["Location"] = reverse("bookmark-detail", args=[bookmark.pk])\n', "")],
              "Location header on the 201"),
        entry("8.2", "total is the length of the page", API,
              [('"total": found.count(),', '"total": len(page),')], "COUNT"),
        entry("8.2", "the tag filter pasted into SQL with an f-string", API,
              [('found = found.filter(tags__name=request.GET["tag"])',
                "found = found.filter(id__in=RawSQL(\n"
                "                f\"SELECT bookmark_id FROM bookmarks_tag WHERE name = '{request.GET['tag']}'\", []))"),
               ("from django.db import transaction\n",
                "from django.db import transaction\nfrom django.db.models.expressions import RawSQL\n")],
              "parameterised"),
        entry("8.2", "delete answers 200 with a body", API,
              [("        return HttpResponse(status=204)\n", '        return JsonResponse({"deleted": pk})\n')],
              "Answer 204 with an empty body"),
        entry("8.2", "the tag filter in SQL with a parameter", API,
              [('found = found.filter(tags__name=request.GET["tag"])',
                'found = found.filter(id__in=RawSQL(\n'
                '                "SELECT bookmark_id FROM bookmarks_tag WHERE name = %s", [request.GET["tag"]]))'),
               ("from django.db import transaction\n",
                "from django.db import transaction\nfrom django.db.models.expressions import RawSQL\n")],
              valid=True),
        # 8.3 errors
        entry("8.3", "malformed JSON not caught", API,
              [('        except (json.JSONDecodeError, UnicodeDecodeError) as exc:\n'
                '            return error(400, f"the body is not valid JSON: {exc}")\n', "")],
              "Catch the parse error"),
        entry("8.3", "405 without the Allow header", API,
              [('raise Problem(405, f"{request.method} is not allowed here", headers={"Allow": allowed})',
                'raise Problem(405, f"{request.method} is not allowed here")')], "Allow: GET, POST"),
        entry("8.3", "any string accepted as url", API,
              [('if parts.scheme not in ("http", "https") or not parts.netloc:', "if False:")], "urlsplit"),
        entry("8.3", "a body over the limit not caught", API,
              [("        except RequestDataTooBig:\n"
                '            return error(413, f"the body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")\n',
                "")], "Limit the body size"),
        entry("8.3", "Content-Type read from META", API,
              [('if request.content_type != "application/json":',
                'if request.META.get("CONTENT_TYPE", "").split(";")[0].strip() != "application/json":')],
              valid=True),
        # 8.4 the API key
        entry("8.4", "keys compared with !=", API,
              [("not hmac.compare_digest(presented.encode(), expected.encode())", "presented != expected")],
              "== stops at the first wrong character"),
        entry("8.4", "the key written in the code", API,
              [("    expected = settings.BOOKMARKS_API_KEY\n", '    expected = "s3cr3t-api-key-for-bookmarks"\n')],
              "Compare with settings"),
        entry("8.4", "401 without WWW-Authenticate", API,
              [(""",
                      headers={"WWW-Authenticate": 'Bearer realm="bookmarks"'})""", ")")], "on a missing header answer"),
        entry("8.4", "the key required on reads too", API,
              [('            if request.method not in ("GET", "HEAD", "OPTIONS"):\n                require_key(request)\n',
                "            require_key(request)\n")], "Require the key on POST, PATCH and DELETE only"),
        entry("8.4", "secrets.compare_digest on str", API,
              [("not hmac.compare_digest(presented.encode(), expected.encode())",
                "not secrets.compare_digest(presented, expected)"),
               ("import hmac\n", "import hmac\nimport secrets\n")], valid=True),
        # 8.5 the page, N+1
        entry("8.5", "the N+1 left in", VIEWS,
              [('    found = found.select_related("owner").prefetch_related("tags")  # 3 queries, however many bookmarks\n',
                "")], "queries for 3 bookmarks"),
        entry("8.5", "owners joined, tags still one query each", VIEWS,
              [('found.select_related("owner").prefetch_related("tags")', 'found.select_related("owner")')],
              "queries for 3 bookmarks"),
        entry("8.5", "titles marked safe", INDEX, [("{{ b.title }}", "{{ b.title|safe }}")], "autoescaping turned off"),
        entry("8.5", "tags shown but not linked", INDEX,
              [("""<a class="tag" href="{% url 'index' %}?tag={{ t.name|urlencode }}">{{ t.name }}</a>""",
                '<span class="tag">{{ t.name }}</span>')], 'a link to "?tag='),
        entry("8.5", "owners prefetched instead of joined", VIEWS,
              [('found.select_related("owner").prefetch_related("tags")', 'found.prefetch_related("owner", "tags")')],
              valid=True),
        # 8.6 the admin
        entry("8.6", "the ModelAdmin never registered", ADMIN, [("@admin.register(Bookmark)\n", "")], "admin.register"),
        entry("8.6", "no url column", ADMIN,
              [('list_display = ["title", "url", "owner", "created"]', 'list_display = ["title", "owner", "created"]')],
              'list_display = ["title"'),
        entry("8.6", "no search", ADMIN, [('    search_fields = ["title", "url"]\n', "")], 'search_fields = ["title"'),
        entry("8.6", "tags not inline", ADMIN, [("    inlines = [TagInline]\n", "")], "an inline formset of tags"),
        entry("8.6", "admin.site.register instead of the decorator", ADMIN,
              [("@admin.register(Bookmark)\n", ""),
               ("    inlines = [TagInline]\n", "    inlines = [TagInline]\n\n\nadmin.site.register(Bookmark, BookmarkAdmin)\n")],
              valid=True),
        # 8.7 form, CSRF, login
        entry("8.7", "csrf_exempt on the form", VIEWS,
              [("@login_required\ndef new_bookmark", "@csrf_exempt\n@login_required\ndef new_bookmark"),
               ("from django.shortcuts import redirect, render\n",
                "from django.shortcuts import redirect, render\nfrom django.views.decorators.csrf import csrf_exempt\n")],
              "csrf_exempt"),
        entry("8.7", "no login_required", VIEWS, [("@login_required\ndef new_bookmark", "def new_bookmark")],
              "login_required"),
        entry("8.7", "the owner never set", VIEWS, [("        bookmark.owner = request.user\n", "")], "added by"),
        entry("8.7", "no csrf_token in the form", NEW, [("  {% csrf_token %}\n", "")], "csrf_token"),
        entry("8.7", "tags split with filter()", FORMS,
              [('return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]',
                'return list(filter(None, (t.strip() for t in self.cleaned_data["tags"].split(","))))')],
              valid=True),
    ]
