"""Lab 08's wrong answers (format: tests/wrong_answers/__init__.py)."""
from wrong_answers import Answer

SOLUTION = "08-solution-django.ipynb"
# A row that changes models.py before the migrations are made re-runs the makemigrations cell too
# (its migration then matches the changed model); a row without it changes a model after them.
MIGRATE = ('manage("makemigrations", "bookmarks")', 'manage("makemigrations", "bookmarks")')
HARD_CODED_KEY = '"django-insecure-9x!s@k3#lq0v2p^f7w&n8z(r)t$y4u1e5m6b"'

# Solution 08's import command (8.9): every item stored in one transaction.
ATOMIC_IMPORT = """        with transaction.atomic():  # all of them, or (on an error) none
            for number, item in enumerate(items, start=1):
                try:
                    save(Bookmark(), validate(item))
                except Problem as problem:
                    raise CommandError(f"bookmark {number}: {problem.message}") from None
"""

ANSWERS = [
    Answer("8.1", "DEBUG=True with a hard-coded secret",
           edit=[('DEBUG = flag("DJANGO_DEBUG")\nSECRET_KEY = secret_key()\n',
                  f"DEBUG = True\nSECRET_KEY = {HARD_CODED_KEY}\n")],
           says=["shows tracebacks"]),
    Answer("8.1", "a hard-coded fallback secret key",
           edit=[('    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()\n',
                  f'    key = os.environ.get("DJANGO_SECRET_KEY", "").strip() or {HARD_CODED_KEY}\n')],
           says=["no start without DJANGO_SECRET_KEY", "a key in the code is in git"]),
    Answer("8.1", "a random secret key when DJANGO_SECRET_KEY is unset",
           edit=[('    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()\n',
                  '    key = os.environ.get("DJANGO_SECRET_KEY", "").strip() or get_random_secret_key()\n'),
                 ("from django.core.exceptions import ImproperlyConfigured\n",
                  "from django.core.exceptions import ImproperlyConfigured\n"
                  "from django.core.management.utils import get_random_secret_key\n")],
           says=["no start without DJANGO_SECRET_KEY", "a random key per start logs everyone out"]),
    Answer("8.1", "a missing key refused without saying which variable",
           edit=[('"Set DJANGO_SECRET_KEY to a long random value, the same for every worker and every start "',
                  '"The secret key is missing "')],
           says=["an error that names DJANGO_SECRET_KEY"]),
    Answer("8.1", "a key of spaces taken as a key",
           edit=[('    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()\n',
                  '    key = os.environ.get("DJANGO_SECRET_KEY", "")\n')],
           says=["no start with DJANGO_SECRET_KEY set to spaces"]),
    Answer("8.1", "session cookies not Secure in production",
           edit=[("SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS\n",
                  "SESSION_COOKIE_SECURE, CSRF_COOKIE_SECURE = False, HTTPS\n")],
           says=["security.W012"]),
    Answer("8.1", "the key checked with KeyError and its own message",
           edit=[('    key = os.environ.get("DJANGO_SECRET_KEY", "").strip()\n    if not key:\n',
                  '    try:\n        key = os.environ["DJANGO_SECRET_KEY"]\n    except KeyError:\n'
                  '        raise ImproperlyConfigured("DJANGO_SECRET_KEY is not set") from None\n'
                  '    if not key.strip():\n')],
           passes=True),
    Answer("8.1", "a field added without making its migration",
           edit=[('    created = models.DateTimeField(auto_now_add=True)\n',
                  '    created = models.DateTimeField(auto_now_add=True)\n    notes = models.TextField(blank=True)\n')],
           says=["No changes detected"]),
    Answer("8.1", "Tag's foreign key without related_name",
           edit=[('models.ForeignKey(Bookmark, related_name="tags", on_delete=models.CASCADE)',
                  "models.ForeignKey(Bookmark, on_delete=models.CASCADE)"),
                 MIGRATE],
           says=["related_name"]),
    Answer("8.1", "flag() with a default",
           edit=[('return os.environ.get(name) == "1"', 'return os.environ.get(name, "0").strip() == "1"')],
           passes=True),
    # 8.2 routes and storage
    Answer("8.2", "no Location header on 201",
           edit=[('        response["Location"] = reverse("bookmark-detail", args=[bookmark.pk])\n', "")],
           says=["Location header on the 201"]),
    Answer("8.2", "total is the length of the page",
           edit=[('page], "total": found.count(),', 'page], "total": len(page),')],
           says=["COUNT"]),
    Answer("8.2", "the tag filter pasted into SQL with an f-string",
           edit=[('found = found.filter(tags__name=request.GET["tag"])',
                  "found = found.filter(id__in=RawSQL(\n"
                  "                f\"SELECT bookmark_id FROM bookmarks_tag WHERE name = '{request.GET['tag']}'\", []))"),
                 ("from django.db import transaction\nfrom django.http import",
                  "from django.db import transaction\nfrom django.db.models.expressions import RawSQL\nfrom django.http import")],
           says=["parameterised"]),
    Answer("8.2", "delete answers 200 with a body",
           edit=[("        return HttpResponse(status=204)\n", '        return JsonResponse({"deleted": pk})\n')],
           says=["Answer 204 with an empty body"]),
    Answer("8.2", "read-modify-write PATCH: the whole row written back",
           edit=[("""    if bookmark.pk is None:
        bookmark.save()
    else:
        # Write only the fields sent (UPDATE ... SET title = ...), never the whole row as find() read
        # it: a PATCH of another field at the same moment keeps its change. 0 rows: a DELETE came first.
        row = Bookmark.objects.filter(pk=bookmark.pk)
        if not (row.update(**changes) if changes else row.exists()):
            raise Problem(404, f"there is no bookmark {bookmark.pk}")
""", "    bookmark.save()\n")],
           says=["changes lost in", "Change only the fields sent"]),
    Answer("8.2", "the tag filter in SQL with a parameter",
           edit=[('found = found.filter(tags__name=request.GET["tag"])',
                  'found = found.filter(id__in=RawSQL(\n'
                  '                "SELECT bookmark_id FROM bookmarks_tag WHERE name = %s", [request.GET["tag"]]))'),
                 ("from django.db import transaction\nfrom django.http import",
                  "from django.db import transaction\nfrom django.db.models.expressions import RawSQL\nfrom django.http import")],
           passes=True),
    # 8.3 errors
    Answer("8.3", "malformed JSON not caught",
           edit=[('''    try:
        data = json.loads(request.body, parse_constant=refuse_constant)
        json.dumps(data, ensure_ascii=False).encode()  # UnicodeEncodeError on a lone surrogate
    except (ValueError, RecursionError) as exc:
        raise Problem(400, f"the body is not valid JSON: {exc}") from None
    return data''', "    return json.loads(request.body)")],
           says=["catch ValueError and RecursionError"]),
    Answer("8.3", "405 without the Allow header",
           edit=[('raise Problem(405, f"{request.method} is not allowed here", headers={"Allow": allowed})',
                  'raise Problem(405, f"{request.method} is not allowed here")')],
           says=["Allow: GET, POST"]),
    Answer("8.3", "any string accepted as url",
           edit=[('return parts.scheme in ("http", "https") and bool(parts.netloc)', "return True")],
           says=["urlsplit"]),
    Answer("8.3", "str.isdigit() for limit and offset: a 500 on '²'",
           edit=[('if not re.fullmatch("[0-9]{1,9}", raw) or', "if not raw.isdigit() or")],
           says=["str.isdigit() says yes"]),
    Answer("8.3", "a body over the limit not caught",
           edit=[("        except RequestDataTooBig:\n"
                  '            return error(413, f"the body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")\n',
                  "")],
           says=["Limit the body size"]),
    Answer("8.3", "Content-Type read from META",
           edit=[('if request.content_type != "application/json":',
                  'if request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower() != "application/json":')],
           passes=True),
    # 8.4 the API key
    Answer("8.4", "keys compared with !=",
           edit=[("not hmac.compare_digest(presented.encode(), expected.encode())", "presented != expected")],
           says=["== stops at the first wrong character"]),
    Answer("8.4", "the key written in the code",
           edit=[("    expected = settings.BOOKMARKS_API_KEY\n", '    expected = "s3cr3t-api-key-for-bookmarks"\n')],
           says=["Compare with settings"]),
    Answer("8.4", "401 without WWW-Authenticate",
           edit=[(""",
                      headers={"WWW-Authenticate": 'Bearer realm="bookmarks"'})""", ")")],
           says=["on a missing header answer"]),
    Answer("8.4", "the key required on reads too",
           edit=[('            if request.method not in ("GET", "HEAD", "OPTIONS"):\n                require_key(request)\n',
                  "            require_key(request)\n")],
           says=["Require the key on POST, PATCH and DELETE only"]),
    Answer("8.4", "compare_digest on str: a 500 for a key that is not ASCII",
           edit=[("not hmac.compare_digest(presented.encode(), expected.encode())",
                  "not secrets.compare_digest(presented, expected)"),
                 ("import hmac\n", "import hmac\nimport secrets\n")],
           says=["never answers 500"]),
    Answer("8.4", "secrets.compare_digest on bytes",
           edit=[("not hmac.compare_digest(presented.encode(), expected.encode())",
                  "not secrets.compare_digest(presented.encode(), expected.encode())"),
                 ("import hmac\n", "import hmac\nimport secrets\n")],
           passes=True),
    Answer("8.4", "the scheme compared case-sensitively",
           edit=[('if scheme.lower() != "bearer" or not expected', 'if scheme != "Bearer" or not expected')],
           says=["case-insensitive"]),
    # 8.5 the page, N+1
    Answer("8.5", "the N+1 left in",
           edit=[('    found = found.select_related("owner").prefetch_related("tags")  # 3 queries, however many bookmarks\n',
                  "")],
           says=["queries for 3 bookmarks"]),
    Answer("8.5", "owners joined, tags still one query each",
           edit=[('found.select_related("owner").prefetch_related("tags")', 'found.select_related("owner")')],
           says=["queries for 3 bookmarks"]),
    Answer("8.5", "titles marked safe",
           edit=[("{{ b.title }}", "{{ b.title|safe }}")],
           says=["autoescaping turned off"]),
    Answer("8.5", "tags shown but not linked",
           edit=[("""<a class="tag" href="{% url 'index' %}?tag={{ t.name|urlencode }}">{{ t.name }}</a>""",
                  '<span class="tag">{{ t.name }}</span>')],
           says=['a link to "?tag=']),
    Answer("8.5", "owners prefetched instead of joined",
           edit=[('found.select_related("owner").prefetch_related("tags")', 'found.prefetch_related("owner", "tags")')],
           passes=True),
    # 8.6 the admin
    Answer("8.6", "the ModelAdmin never registered",
           edit=[("@admin.register(Bookmark)\n", "")],
           says=["admin.register"]),
    Answer("8.6", "no url column",
           edit=[('list_display = ["title", "url", "owner", "created"]', 'list_display = ["title", "owner", "created"]')],
           says=["list_display to the fields"]),
    Answer("8.6", "no search",
           edit=[('    search_fields = ["title", "url"]\n', "")],
           says=["search_fields to the fields"]),
    Answer("8.6", "tags not inline",
           edit=[("    inlines = [TagInline]\n", "")],
           says=["an inline formset of tags"]),
    Answer("8.6", "admin.site.register instead of the decorator",
           edit=[("@admin.register(Bookmark)\n", ""),
                 ("    inlines = [TagInline]\n", "    inlines = [TagInline]\n\n\nadmin.site.register(Bookmark, BookmarkAdmin)\n")],
           passes=True),
    # 8.7 form, CSRF, login
    Answer("8.7", "csrf_exempt on the form",
           edit=[("@login_required\ndef new_bookmark", "@csrf_exempt\n@login_required\ndef new_bookmark"),
                 ("from django.shortcuts import redirect, render\n",
                  "from django.shortcuts import redirect, render\nfrom django.views.decorators.csrf import csrf_exempt\n")],
           says=["csrf_exempt"]),
    Answer("8.7", "no login_required",
           edit=[("@login_required\ndef new_bookmark", "def new_bookmark")],
           says=["login_required"]),
    Answer("8.7", "the owner never set",
           edit=[("        bookmark.owner = request.user\n", "")],
           says=["added by"]),
    Answer("8.7", "no csrf_token in the form",
           edit=[("Add a bookmark{% endblock %}\n{% block content %}\n<form method=\"post\">\n  {% csrf_token %}\n",
                  "Add a bookmark{% endblock %}\n{% block content %}\n<form method=\"post\">\n")],
           says=["csrf_token"]),
    Answer("8.7", "the form trusts Django's URL check: ftp:// accepted",
           edit=[('        url = self.cleaned_data["url"]\n        if not is_http_url(url):\n'
                  '            raise forms.ValidationError("Enter an http:// or https:// URL.")\n        return url\n',
                  '        return self.cleaned_data["url"]\n')],
           says=["an ftp:// url is refused", "clean_url"]),
    Answer("8.7", "clean_url checks the scheme with startswith",
           edit=[("        if not is_http_url(url):\n",
                  '        if not url.lower().startswith(("http://", "https://")):\n')],
           passes=True),
    Answer("8.7", "tags split with filter()",
           edit=[('return [t.strip() for t in self.cleaned_data["tags"].split(",") if t.strip()]',
                  'return list(filter(None, (t.strip() for t in self.cleaned_data["tags"].split(","))))')],
           passes=True),
    # 8.8 tests that can fail
    Answer("8.8", "the PATCH test looks only at the PATCH's own answer",
           edit=[("""    assert patched.status_code == 200
    read = client.get(f"/api/bookmarks/{item}")
    assert read.status_code == 200
    assert read.json()["title"] == "Django docs"
""", """    assert patched.status_code == 200
    assert patched.json()["title"] == "Django docs"
""")],
           says=["a test that looks only at the PATCH's own answer cannot see a lost write"]),
    Answer("8.8", "the tag test checks only that the tagged bookmark is listed",
           edit=[('    assert [b["id"] for b in listed.json()["items"]] == [tagged]\n',
                  '    assert tagged in [b["id"] for b in listed.json()["items"]]\n')],
           says=["assert exactly which ids come back"]),
    Answer("8.8", "tests that never run the site",
           edit=[("""    item = create(client, "Django", ["web"])
    patched = client.patch(""", """    assert client is not None
    return
    item = create(client, "Django", ["web"])
    patched = client.patch("""),
                 ("""    tagged = create(client, "Tagged", ["only-here"])
""", """    return
    tagged = create(client, "Tagged", ["only-here"])
""")],
           says=["your tests fail against a site whose PATCH answers 200 but keeps nothing"]),
    Answer("8.8", "the PATCH read back through the list",
           edit=[("""    read = client.get(f"/api/bookmarks/{item}")
    assert read.status_code == 200
    assert read.json()["title"] == "Django docs"
""", """    listed = client.get("/api/bookmarks", {"limit": 100}).json()["items"]
    assert [b["title"] for b in listed if b["id"] == item] == ["Django docs"]
""")],
           passes=True),
    # 8.9 a command of your own
    Answer("8.9", "the import without a transaction: half a file stored",
           edit=[(ATOMIC_IMPORT, """        for number, item in enumerate(items, start=1):
            try:
                save(Bookmark(), validate(item))
            except Problem as problem:
                raise CommandError(f"bookmark {number}: {problem.message}") from None
""")],
           says=["nothing of that file stored", "all or nothing"]),
    Answer("8.9", "an invalid bookmark ends in a traceback",
           edit=[("""                try:
                    save(Bookmark(), validate(item))
                except Problem as problem:
                    raise CommandError(f"bookmark {number}: {problem.message}") from None
""", """                save(Bookmark(), validate(item))
""")],
           says=["Raise CommandError('bookmark 3: ...')"]),
    Answer("8.9", "a missing file ends in a traceback",
           edit=[("""        except OSError as exc:
            raise CommandError(f"cannot read {options['file']}: {exc.strerror}") from None
""", "")],
           says=["Catch OSError"]),
    Answer("8.9", "every item validated before any is stored",
           edit=[(ATOMIC_IMPORT, """        checked = []
        for number, item in enumerate(items, start=1):
            try:
                checked.append(validate(item))
            except Problem as problem:
                raise CommandError(f"bookmark {number}: {problem.message}") from None
        with transaction.atomic():
            for fields in checked:
                save(Bookmark(), fields)
""")],
           passes=True),
]
