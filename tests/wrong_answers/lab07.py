"""Lab 07's wrong answers (format: tests/wrong_answers/__init__.py)."""
from pathlib import Path

import nbformat

from wrong_answers import Answer

SOLUTION = "07-solution-aiohttp.ipynb"
# The store's two cells: the dict-based stand-in that exercise 7.1 gives, and the SQLite one of 7.2.
STAND_IN, SQLITE_STORE = [
    cell.source.split("\n", 1)[1]
    for cell in nbformat.read(Path(__file__).parents[2] / "solutions" / SOLUTION, as_version=4).cells
    if cell.cell_type == "code" and cell.source.startswith("%%writefile apps/bookmarks_store.py\n")]
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

EARLY_413 = ("    if request.content_length is not None and request.content_length > request.client_max_size:\n"
             "        raise web.HTTPRequestEntityTooLarge(max_size=request.client_max_size,\n"
             "                                            actual_size=request.content_length)\n")
READ_BACK = ('    read = await client.get(created.headers["Location"])\n'
             "    assert read.status == 200\n"
             '    assert (await read.json())["title"] == "aiohttp"\n')

RACE = ('            tasks = [asyncio.create_task(one(session, path)) for path in paths]\n'
        '            try:\n'
        '                for finished in asyncio.as_completed(tasks):  # in the order they finish\n'
        '                    try:\n'
        '                        return await finished\n'
        '                    except aiohttp.ClientError:\n'
        '                        continue  # this mirror failed: wait for the next one\n'
        '                raise LookupError(f"none of {len(paths)} mirrors answered 200")\n'
        '            finally:\n'
        '                for task in tasks:  # the race is over: stop the others\n'
        '                    task.cancel()\n'
        '                await asyncio.gather(*tasks, return_exceptions=True)\n')

ANSWERS = [
    Answer("7.1", "the store called on the event loop",
           edit=[(LIST_CALL, "    items, total = store.list_bookmarks(request.app[DB_PATH], limit, offset, "
                  'request.query.get("tag"))')],
           says=["to_thread"]),
    Answer("7.1", "no Location header on 201",
           edit=[(CREATE, "    return web.json_response(item, status=201)")],
           says=["Location"]),
    Answer("7.1", "create answers 200",
           edit=[(CREATE, '    return web.json_response(item, headers={"Location": str(location)})')],
           says=["201"]),
    Answer("7.1", "delete answers 200 with a body",
           edit=[("    return web.Response(status=204)", '    return web.json_response({"deleted": wanted})')],
           says=["204"]),
    Answer("7.1", "absolute Location (request.url.join)",
           edit=[(CREATE, "    return web.json_response(item, status=201, "
                  'headers={"Location": str(request.url.join(location))})')],
           passes=True),
    # 7.2 storage, off the loop
    Answer("7.2", "database path written in the code",
           edit=[("    db = sqlite3.connect(path)", '    db = sqlite3.connect("bookmarks.sqlite3")')],
           says=["BOOKMARKS_DB"]),
    Answer("7.2", "no commit after INSERT",
           edit=[("    with closing(connect(path)) as db, db:  # the inner `db` commits when the block ends", "    with closing(connect(path)) as db:")],
           says=["commit"]),
    Answer("7.2", "the in-memory stand-in kept",
           edit=[(SQLITE_STORE, STAND_IN)],
           says=["SQLite"]),
    # Imported by name, the blocking call is invisible to the source check: the held query finds it.
    Answer("7.2", "SQLite on the event loop, through a name imported from the store",
           edit=[(LIST_CALL, '    items, total = list_bookmarks(request.app[DB_PATH], limit, offset, request.query.get("tag"))'
                  "\n"),
                 ("import bookmarks_store as store\n",
                  "import bookmarks_store as store\nfrom bookmarks_store import list_bookmarks\n")],
           says=["event loop was blocked"]),
    Answer("7.2", "time.sleep in a handler, waiting out a locked database",
           edit=[("    fields = validate(await read_json(request))\n", "    fields = validate(await read_json(request))\n    time.sleep(0.01)  # let SQLite settle\n"),
                 ("import os\n", "import os\nimport time\n")],
           says=["time.sleep"]),
    # Not a valid row, though it looks like one: in autocommit mode the UPDATE and the SELECT that
    # reads the item back are two transactions, so a DELETE between them makes the PATCH answer 500.
    # storage.concurrent saw it in 1 of 10 loaded runs; the race is too narrow to catch every time.
    Answer("7.2", "UPDATE ... RETURNING: the changed row read back in the same statement",
           edit=[('        cursor = db.execute("UPDATE bookmark SET url = COALESCE(?, url), title = COALESCE(?, title), "\n'
                  '                            "tags = COALESCE(?, tags) WHERE id = ?",\n'
                  '                            (fields.get("url"), fields.get("title"), tags, bookmark_id))\n'
                  '        row = db.execute("SELECT * FROM bookmark WHERE id = ?", (bookmark_id,)).fetchone()\n'
                  '    return as_item(row) if cursor.rowcount == 1 else None',
                  '        row = db.execute("UPDATE bookmark SET url = COALESCE(?, url), title = COALESCE(?, title), "\n'
                  '                         "tags = COALESCE(?, tags) WHERE id = ? RETURNING *",\n'
                  '                         (fields.get("url"), fields.get("title"), tags, bookmark_id)).fetchone()\n'
                  '    return None if row is None else as_item(row)')],
           passes=True),
    # 7.3 errors
    Answer("7.3", "json_errors not registered",
           edit=[("middlewares=[json_errors, require_key]", "middlewares=[require_key]")],
           says=["middleware"]),
    Answer("7.3", "the middleware drops the error's headers (Allow)",
           edit=[("            kept = {name: value for name, value in error.headers.items()\n"
                  '                    if name.lower() not in ("content-type", "content-length")}  '
                  "# Allow, WWW-Authenticate\n", "            kept = {}\n")],
           says=["Allow"]),
    Answer("7.3", "the body limit left at aiohttp's 1 MB",
           edit=[("    max_body = 64 * 1024\n", "")],
           says=["65536"]),
    Answer("7.3", "the whole body read before its size is known: no early 413 (a 10 MB Content-Length waits)",
           edit=[(EARLY_413, "")],
           says=["request.content_length"]),
    Answer("7.3", "a chunked body read without a bound (request.content.read())",
           edit=[("    body = await request.read()  #", "    body = await request.content.read()  #")],
           says=["request.content.read() reads the whole stream"]),
    Answer("7.3", "the early 413 written with the contract's number and a bare raise",
           edit=[(EARLY_413, "    if (request.content_length or 0) > 64 * 1024:\n"
                             "        raise web.HTTPRequestEntityTooLarge(max_size=64 * 1024, "
                             "actual_size=request.content_length)\n")],
           passes=True),
    Answer("7.3", "any string accepted as url",
           edit=[('return parts.scheme in ("http", "https") and bool(parts.netloc)', "return True")],
           says=["urlsplit"]),
    Answer("7.3", "url checked with hostname and a lower-cased scheme",
           edit=[('return parts.scheme in ("http", "https") and bool(parts.netloc)',
                  'return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)')],
           passes=True),
    Answer("7.3", "str.isdigit() for limit and offset: a 500 on '²'",
           edit=[('if not re.fullmatch("[0-9]{1,9}", raw) or', "if not raw.isdigit() or")],
           says=["str.isdigit() says yes"]),
    # 7.4 the API key
    Answer("7.4", "keys compared with !=",
           edit=[("not hmac.compare_digest(presented.encode(), expected.encode())", "presented != expected")],
           says=["compare_digest"]),
    Answer("7.4", "a key written into the code",
           edit=[("        expected = request.app[API_KEY]", '        expected = "dev-secret-key-42"')],
           says=["BOOKMARKS_API_KEY"]),
    Answer("7.4", "401 without WWW-Authenticate",
           edit=[(',\n                                       headers={"WWW-Authenticate": \'Bearer realm="bookmarks"\'})', ")")],
           says=["WWW-Authenticate"]),
    Answer("7.4", "the Bearer scheme not checked",
           edit=[('(scheme.lower() != "bearer" or not presented.isascii() or not expected',
                  "(not presented.isascii() or not expected")],
           says=["Bearer"]),
    Answer("7.4", "the key encoded without looking: a 500 on bytes that are not UTF-8",
           edit=[('(scheme.lower() != "bearer" or not presented.isascii() or not expected',
                  '(scheme.lower() != "bearer" or not expected')],
           says=["never answers 500"]),
    Answer("7.4", "the key asked for on paths that do not exist",
           edit=[(' and request.match_info.http_exception is None:', ":")],
           says=["/api/no-such-thing"]),
    Answer("7.4", "the key cut off by position",
           edit=[('        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")\n'
                  "        expected = request.app[API_KEY]\n",
                  '        header = request.headers.get("Authorization", "")\n'
                  "        expected = request.app[API_KEY]\n"
                  "        scheme, presented = header[:6], header[7:]\n")],
           passes=True),
    # 7.5 the page
    Answer("7.5", "autoescape turned off",
           edit=[("autoescape=jinja2.select_autoescape()", "autoescape=False")],
           says=["autoescape"]),
    Answer("7.5", "title marked |safe",
           edit=[("{{ b.title }}", "{{ b.title|safe }}")],
           says=["escaped"]),
    Answer("7.5", "tags shown but not linked",
           edit=[('<a class="tag" href="{{ page_url(tag=t) }}">{{ t }}</a>', "<span>{{ t }}</span>")],
           says=["?tag="]),
    Answer("7.5", "the page served as text/plain",
           edit=[('    return web.Response(text=text, content_type="text/html")', "    return web.Response(text=text)")],
           says=["text/html"]),
    Answer("7.5", "subscript syntax in the template",
           edit=[('<a href="{{ b.url }}">{{ b.title }}</a>', '<a href="{{ b["url"] }}">{{ b["title"] }}</a>')],
           passes=True),
    # 7.6 the chat room
    Answer("7.6", "a leaver is never removed nor announced (broadcasts then fail on them)",
           edit=[(CHAT, "    request.app[CHATTERS][name] = ws\n"
                  '    await broadcast(request.app, f"{name} joined")\n'
                  "    async for message in ws:\n"
                  "        if message.type == WSMsgType.TEXT:\n"
                  '            await broadcast(request.app, f"{name}: {message.data}")')],
           says=["alan left"]),
    Answer("7.6", "a broadcast that stops at the first dead chatter, who stays in the room",
           edit=[(BROADCAST, "    for name, ws in list(app[CHATTERS].items()):\n"
       "        await ws.send_str(text)")],
           says=["left"]),
    Answer("7.6", "messages go to the others but not back to the sender",
           edit=[('                await broadcast(request.app, f"{name}: {message.data}")', "                for other, peer in list(request.app[CHATTERS].items()):\n"
                  "                    if other != name:\n"
                  '                        await peer.send_str(f"{name}: {message.data}")')],
           says=["ada: hello"]),
    Answer("7.6", "nobody is told who joined",
           edit=[('        await broadcast(request.app, f"{name} joined")\n', "")],
           says=["joined"]),
    Answer("7.6", "broadcast with gather(return_exceptions=True)",
           edit=[(BROADCAST, "    room = list(app[CHATTERS].items())\n"
                  "    sent = await asyncio.gather(*(ws.send_str(text) for _, ws in room), return_exceptions=True)\n"
                  "    for (name, _), outcome in zip(room, sent):\n"
                  "        if isinstance(outcome, Exception):\n"
                  "            app[CHATTERS].pop(name, None)")],
           passes=True),
    # 7.7 the concurrent client
    Answer("7.7", "a new ClientSession for every request",
           edit=[(FETCH, "    async def fresh(path):\n"
                  "        async with aiohttp.ClientSession(base_url) as session:\n"
                  "            return await one(session, path)\n\n"
                  "    async with asyncio.timeout(deadline):\n"
                  "        return await asyncio.gather(*(fresh(path) for path in paths))")],
           says=["ClientSession"]),
    Answer("7.7", "no limit: every request at once",
           edit=[("    semaphore = asyncio.Semaphore(limit)", "    semaphore = asyncio.Semaphore(10_000)")],
           says=["Semaphore"]),
    Answer("7.7", "one request at a time",
           edit=[("            return await asyncio.gather(*(one(session, path) for path in paths))", "            return [await one(session, path) for path in paths]")],
           says=["more than one"]),
    Answer("7.7", "no deadline",
           edit=[("    async with asyncio.timeout(deadline):  # one deadline for the whole batch", "    if True:")],
           says=["give up"]),
    Answer("7.7", "the connector's limit and a ClientTimeout instead of a semaphore",
           edit=[(FETCH, "    connector = aiohttp.TCPConnector(limit=limit)\n"
                  "    timeout = aiohttp.ClientTimeout(total=deadline)\n"
                  "    async with aiohttp.ClientSession(base_url, connector=connector, timeout=timeout) as session:\n"
                  "        return await asyncio.gather(*(one(session, path) for path in paths))")],
           passes=True),
    # 7.8 a test of the student's own, which must fail on a store that keeps nothing
    Answer("7.8", "a test that cannot fail: only the 201 is asserted",
           edit=[(READ_BACK, "")],
           says=["cannot catch a lost write"]),
    Answer("7.8", "the test brings no database of its own",
           edit=[('    monkeypatch.setenv("BOOKMARKS_DB", str(tmp_path / "test.sqlite3"))\n', "")],
           says=["monkeypatch.setenv BOOKMARKS_DB"]),
    Answer("7.8", "the test sends no key, so its create is refused",
           edit=[(',\n                                headers={"Authorization": f"Bearer {KEY}"})', ")")],
           says=["Bearer KEY"]),
    Answer("7.8", "valid: the bookmark read back through the list",
           edit=[(READ_BACK, '    listed = await (await client.get("/api/bookmarks")).json()\n'
                             '    assert [item["title"] for item in listed["items"]] == ["aiohttp"]\n')],
           passes=True),
    # 7.9 the first mirror to answer (a race the lesson did not show)
    Answer("7.9", "gather: every mirror waited for",
           edit=[(RACE, "            return (await asyncio.gather(*(one(session, path) for path in paths)))[0]\n")],
           says=["gather() waits for all"]),
    Answer("7.9", "the first to finish wins, even an error page",
           edit=[("            response.raise_for_status()  # an error page does not count\n", "")],
           says=["does not count"]),
    Answer("7.9", "None when every mirror fails",
           edit=[('                raise LookupError(f"none of {len(paths)} mirrors answered 200")\n',
                  "                return None\n")],
           says=["raise LookupError"]),
    Answer("7.9", "valid: the others cancelled and left to the session's close",
           edit=[("                await asyncio.gather(*tasks, return_exceptions=True)\n", "")],
           passes=True),
]
