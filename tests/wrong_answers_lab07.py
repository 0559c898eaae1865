"""Plausible wrong answers to lab 07 (and one valid alternative per exercise), as plain data.

Each entry: the exercise, a label, the file whose %%writefile cell is replaced ("cell"; for 7.7 the
code cell that defines fetch_pages), the replacement source (the solution's with one change), and a
substring the check's report must contain ("hint"), or valid=True for an answer that must pass.
tests/test_lab07.py drives every entry through the real checks.
"""
from pathlib import Path

import nbformat

SOLUTION = Path(__file__).resolve().parent.parent / "solutions" / "07-aiohttp.ipynb"
APP, STORE, INDEX = "apps/bookmarks_aiohttp.py", "apps/bookmarks_store.py", "apps/templates/index.html"
CLIENT = "fetch_pages"  # not a file: the cell that defines the coroutine


def solution_file(name):
    """The source that the solution's last cell for `name` writes (or, for CLIENT, defines)."""
    found = None
    for cell in nbformat.read(SOLUTION, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        if cell.source.startswith(f"%%writefile {name}\n"):
            found = cell.source.split("\n", 1)[1]
        elif name == CLIENT and cell.source.startswith("async def fetch_pages("):
            found = cell.source
    if found is None:
        raise LookupError(f"the solution has no cell for {name}")
    return found


def changed(name, old, new):
    source = solution_file(name)
    if source.count(old) != 1:
        raise LookupError(f"{old!r} is not in {name} exactly once: update tests/wrong_answers_lab07.py")
    return source.replace(old, new)


def entry(exercise, label, cell, old, new, hint=None, valid=False, also=None):
    """One answer: the solution's cell with `old` made `new` (and `also`, an (old, new) pair)."""
    source = changed(cell, old, new)
    if also:
        if source.count(also[0]) != 1:
            raise LookupError(f"{also[0]!r} is not in {cell} exactly once: update tests/wrong_answers_lab07.py")
        source = source.replace(*also)
    return {"exercise": exercise, "label": label, "cell": cell, "source": source, "hint": hint, "valid": valid}


def stand_in():
    """The dict-based store that exercise 7.1 gives (the first %%writefile cell of the store)."""
    for cell in nbformat.read(SOLUTION, as_version=4).cells:
        if cell.cell_type == "code" and cell.source.startswith(f"%%writefile {STORE}\n"):
            return cell.source.split("\n", 1)[1]
    raise LookupError("the solution has no stand-in store")


CREATE = ('    return web.json_response(item, status=201, headers={"Location": str(location)})')
LIST_CALL = ("    items, total = await asyncio.to_thread(store.list_bookmarks, request.app[DB_PATH], limit, offset,\n"
             '                                           request.query.get("tag"))')
BROADCAST = ("    for name, ws in list(app[CHATTERS].items()):  # a copy: the room may change while we await\n"
             "        try:\n"
             "            await ws.send_str(text)\n"
             "        except (ConnectionError, RuntimeError):  # closing or closed under our feet\n"
             "            app[CHATTERS].pop(name, None)")
CHAT = ("    request.app[CHATTERS][name] = ws\n"
        "    try:\n"
        '        await broadcast(request.app, f"{name} joined")\n'
        "        async for message in ws:\n"
        "            if message.type == WSMsgType.TEXT:\n"
        '                await broadcast(request.app, f"{name}: {message.data}")\n'
        "    finally:\n"
        "        if request.app[CHATTERS].get(name) is ws:\n"
        "            del request.app[CHATTERS][name]\n"
        '        await broadcast(request.app, f"{name} left")')
FETCH = ("    async with asyncio.timeout(deadline):  # one deadline for the whole batch\n"
         "        async with aiohttp.ClientSession(base_url) as session:  # one session: connections reused\n"
         "            return await asyncio.gather(*(one(session, path) for path in paths))")


def wrong_answers():
    return [
        # 7.1 routes and JSON
        entry("7.1", "the store called on the event loop", APP, LIST_CALL,
              "    items, total = store.list_bookmarks(request.app[DB_PATH], limit, offset, "
              'request.query.get("tag"))', "to_thread"),
        entry("7.1", "no Location header on 201", APP, CREATE,
              "    return web.json_response(item, status=201)", "Location"),
        entry("7.1", "create answers 200", APP, CREATE,
              '    return web.json_response(item, headers={"Location": str(location)})', "201"),
        entry("7.1", "delete answers 200 with a body", APP, "    return web.Response(status=204)",
              '    return web.json_response({"deleted": wanted})', "204"),
        entry("7.1", "absolute Location (request.url.join)", APP, CREATE,
              "    return web.json_response(item, status=201, "
              'headers={"Location": str(request.url.join(location))})', valid=True),
        # 7.2 storage, off the loop
        entry("7.2", "database path written in the code", STORE, "    db = sqlite3.connect(path)",
              '    db = sqlite3.connect("bookmarks.sqlite3")', "BOOKMARKS_DB"),
        entry("7.2", "no commit after INSERT", STORE,
              "    with closing(connect(path)) as db, db:  # the inner `db` commits when the block ends",
              "    with closing(connect(path)) as db:", "commit"),
        {"exercise": "7.2", "label": "the in-memory stand-in kept", "cell": STORE,
         "source": stand_in(), "hint": "SQLite", "valid": False},
        # Imported by name, the blocking call is invisible to the source check: the held query finds it.
        entry("7.2", "SQLite on the event loop, through a name imported from the store", APP, LIST_CALL,
              '    items, total = list_bookmarks(request.app[DB_PATH], limit, offset, request.query.get("tag"))'
              "\n", "event loop was blocked",
              also=("import bookmarks_store as store\n",
                    "import bookmarks_store as store\nfrom bookmarks_store import list_bookmarks\n")),
        entry("7.2", "time.sleep in a handler, waiting out a locked database", APP,
              "    fields = validate(await read_json(request))\n",
              "    fields = validate(await read_json(request))\n    time.sleep(0.01)  # let SQLite settle\n",
              "time.sleep", also=("import os\n", "import os\nimport time\n")),
        entry("7.2", "autocommit instead of commit()", STORE, "    db = sqlite3.connect(path)",
              "    db = sqlite3.connect(path, isolation_level=None)", valid=True),
        # 7.3 errors
        entry("7.3", "json_errors not registered", APP, "middlewares=[json_errors, require_key]",
              "middlewares=[require_key]", "middleware"),
        entry("7.3", "the middleware drops the error's headers (Allow)", APP,
              "            kept = {name: value for name, value in error.headers.items()\n"
              '                    if name.lower() not in ("content-type", "content-length")}  '
              "# Allow, WWW-Authenticate\n", "            kept = {}\n", "Allow"),
        entry("7.3", "the body limit left at aiohttp's 1 MB", APP, "    max_body = 64 * 1024\n", "", "65536"),
        entry("7.3", "any string accepted as url", APP,
              'if parts.scheme not in ("http", "https") or not parts.netloc:', "if False:", "urlsplit"),
        entry("7.3", "url checked with hostname and a lower-cased scheme", APP,
              'if parts.scheme not in ("http", "https") or not parts.netloc:',
              'if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:', valid=True),
        # 7.4 the API key
        entry("7.4", "keys compared with !=", APP,
              "not hmac.compare_digest(presented.encode(), expected.encode())", "presented != expected",
              "compare_digest"),
        entry("7.4", "a key written into the code", APP, "        expected = request.app[API_KEY]",
              '        expected = "dev-secret-key-42"', "BOOKMARKS_API_KEY"),
        entry("7.4", "401 without WWW-Authenticate", APP,
              ',\n                                       headers={"WWW-Authenticate": \'Bearer realm="bookmarks"\'})',
              ")", "WWW-Authenticate"),
        entry("7.4", "the Bearer scheme not checked", APP,
              'if scheme != "Bearer" or not expected', "if not expected", "Bearer"),
        entry("7.4", "the key cut off with removeprefix", APP,
              '        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")\n'
              "        expected = request.app[API_KEY]\n"
              '        if scheme != "Bearer" or not expected or not hmac.compare_digest(presented.encode(), '
              "expected.encode()):",
              '        header = request.headers.get("Authorization", "")\n'
              "        expected = request.app[API_KEY]\n"
              '        if not header.startswith("Bearer ") or not expected or not hmac.compare_digest(\n'
              '                header.removeprefix("Bearer ").encode(), expected.encode()):', valid=True),
        # 7.5 the page
        entry("7.5", "autoescape turned off", APP, "autoescape=jinja2.select_autoescape()",
              "autoescape=False", "autoescape"),
        entry("7.5", "title marked |safe", INDEX, "{{ b.title }}", "{{ b.title|safe }}", "escaped"),
        entry("7.5", "tags shown but not linked", INDEX,
              '<a class="tag" href="{{ page_url(tag=t) }}">{{ t }}</a>', "<span>{{ t }}</span>", "?tag="),
        entry("7.5", "the page served as text/plain", APP,
              '    return web.Response(text=text, content_type="text/html")', "    return web.Response(text=text)",
              "text/html"),
        entry("7.5", "subscript syntax in the template", INDEX, '<a href="{{ b.url }}">{{ b.title }}</a>',
              '<a href="{{ b["url"] }}">{{ b["title"] }}</a>', valid=True),
        # 7.6 the chat room
        entry("7.6", "a leaver is never removed nor announced (broadcasts then fail on them)", APP, CHAT,
              "    request.app[CHATTERS][name] = ws\n"
              '    await broadcast(request.app, f"{name} joined")\n'
              "    async for message in ws:\n"
              "        if message.type == WSMsgType.TEXT:\n"
              '            await broadcast(request.app, f"{name}: {message.data}")', "alan left"),
        entry("7.6", "a broadcast that stops at the first dead chatter, who stays in the room", APP,
              BROADCAST, "    for name, ws in list(app[CHATTERS].items()):\n"
              "        await ws.send_str(text)", "left"),
        entry("7.6", "messages go to the others but not back to the sender", APP,
              '                await broadcast(request.app, f"{name}: {message.data}")',
              "                for other, peer in list(request.app[CHATTERS].items()):\n"
              "                    if other != name:\n"
              '                        await peer.send_str(f"{name}: {message.data}")', "ada: hello"),
        entry("7.6", "nobody is told who joined", APP, '        await broadcast(request.app, f"{name} joined")\n',
              "", "joined"),
        entry("7.6", "broadcast with gather(return_exceptions=True)", APP, BROADCAST,
              "    room = list(app[CHATTERS].items())\n"
              "    sent = await asyncio.gather(*(ws.send_str(text) for _, ws in room), return_exceptions=True)\n"
              "    for (name, _), outcome in zip(room, sent):\n"
              "        if isinstance(outcome, Exception):\n"
              "            app[CHATTERS].pop(name, None)", valid=True),
        # 7.7 the concurrent client
        entry("7.7", "a new ClientSession for every request", CLIENT, FETCH,
              "    async def fresh(path):\n"
              "        async with aiohttp.ClientSession(base_url) as session:\n"
              "            return await one(session, path)\n\n"
              "    async with asyncio.timeout(deadline):\n"
              "        return await asyncio.gather(*(fresh(path) for path in paths))", "ClientSession"),
        entry("7.7", "no limit: every request at once", CLIENT, "    semaphore = asyncio.Semaphore(limit)",
              "    semaphore = asyncio.Semaphore(10_000)", "Semaphore"),
        entry("7.7", "one request at a time", CLIENT,
              "            return await asyncio.gather(*(one(session, path) for path in paths))",
              "            return [await one(session, path) for path in paths]", "more than one"),
        entry("7.7", "no deadline", CLIENT, "    async with asyncio.timeout(deadline):  # one deadline for the whole batch",
              "    if True:", "give up"),
        entry("7.7", "the connector's limit and a ClientTimeout instead of a semaphore", CLIENT, FETCH,
              "    connector = aiohttp.TCPConnector(limit=limit)\n"
              "    timeout = aiohttp.ClientTimeout(total=deadline)\n"
              "    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:\n"
              "        return await asyncio.gather(*(one(session, path) for path in paths))", valid=True),
    ]
