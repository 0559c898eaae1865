"""Lab 10's wrong answers (format: tests/wrong_answers/__init__.py)."""
from wrong_answers import Answer

SOLUTION = "10-solution-caching.ipynb"
NOT_MODIFIED = ("    if request.if_none_match.contains(version):\n        response = Response(status=304)\n"
                "    else:\n        response = jsonify(data)\n")
IF_MATCH = "    if request.if_match and not request.if_match.contains(version_of(current)):\n"
GET_HIT = "        found = CACHE.get(key)\n        if found is not None:\n            return json.loads(found)\n        return load_once"
LOCKED = ('        with CACHE.lock(f"lock:{key}", timeout=LOCK_SECONDS, blocking_timeout=WAIT_SECONDS):\n'
          "            found = CACHE.get(key)  # the request that held the lock before us may have loaded it\n"
          "            if found is not None:\n                return json.loads(found)\n"
          "            return keep(key, load())\n")
LOCK_BLOCK = ("    try:\n" + LOCKED + "    except LockError:  # waited WAIT_SECONDS in vain (or the lock expired): "
              "load it without the lock\n        return load()\n")
HAND_LOCK = """    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if CACHE.set(f"lock:{key}", "1", nx=True, ex=LOCK_SECONDS):  # ours: load it
            try:
                found = CACHE.get(key)
                return json.loads(found) if found is not None else keep(key, load())
            finally:
                CACHE.delete(f"lock:{key}")
        time.sleep(0.05)  # someone else loads it: wait, then look again
        found = CACHE.get(key)
        if found is not None:
            return json.loads(found)
    return load()
"""
PATCH_FORGET = ("    # BEGIN SOLUTION\n    forget(list_key(user), item_key(user, bookmark_id))\n    # END SOLUTION\n"
                "    return answer(item)")
POST_FORGET = '    forget(list_key(user), item_key(user, item["id"]))\n'
DELETE_FORGET = ('    # BEGIN SOLUTION\n    forget(list_key(user), item_key(user, bookmark_id))\n    # END SOLUTION\n'
                 '    return "", 204')
WARN_READ = '        log.warning("cache unavailable (%s): %s read from the database", error, key)\n'

ANSWERS = [
    # 10.1 validators
    Answer("10.1", "an ETag but never a 304",
           edit=[(NOT_MODIFIED, "    response = jsonify(data)\n")],
           says=["request.if_none_match.contains"]),
    Answer("10.1", "a 304 returned before its ETag is set",
           edit=[("        response = Response(status=304)\n", "        return Response(status=304)\n")],
           says=["an empty body and ETag"]),
    Answer("10.1", "If-Match ignored: a lost update goes through",
           edit=[(IF_MATCH, "    if False:\n")],
           says=["lost update"]),
    Answer("10.1", "public caching of private data, no Vary",
           edit=[('    response.headers["Cache-Control"] = "private, no-cache"  # keep it, but ask each time\n',
                  '    response.headers["Cache-Control"] = "public, max-age=60"\n'),
                 ('    response.vary.add("Authorization")  # another key, another answer\n', "")],
           says=["Cache-Control: private"]),
    Answer("10.1", "Flask's own make_conditional does the 304",
           edit=[(NOT_MODIFIED, "    response = jsonify(data)\n"),
                 ('    response.vary.add("Authorization")  # another key, another answer\n',
                  '    response.vary.add("Authorization")  # another key, another answer\n'
                  "    response.make_conditional(request)\n")],
           passes=True),
    # 10.2 cache-aside
    Answer("10.2", "no invalidation after PATCH: a stale read",
           edit=[(PATCH_FORGET, "    return answer(item)")],
           says=["After the PATCH"]),
    Answer("10.2", "no invalidation after POST",
           edit=[(POST_FORGET, "")],
           says=["After the POST"]),
    Answer("10.2", "DELETE forgets the item but not the list",
           edit=[(DELETE_FORGET, '    forget(item_key(user, bookmark_id))\n    return "", 204')],
           says=["After the DELETE"]),
    Answer("10.2", "the cache key misses the user: one user's data served to another",
           edit=[('    return f"bookmarks:{user}:list"', '    return "bookmarks:list"'),
                 ('    return f"bookmarks:{user}:{bookmark_id}"', '    return f"bookmarks:{bookmark_id}"')],
           says=["Put the user in the cache key"]),
    Answer("10.2", "ids of any size: SQLite's OverflowError is a 500",
           edit=[('@app.get("/api/bookmarks/<int(max=999999999):bookmark_id>")', '@app.get("/api/bookmarks/<int:bookmark_id>")')],
           says=["OverflowError"]),
    Answer("10.2", "a key that is not UTF-8 crashes the comparison",
           edit=[('    if scheme.lower() == "bearer" and presented.isascii():', '    if scheme.lower() == "bearer":'),
                 ("            if hmac.compare_digest(presented.encode(), key.encode()):",
                  "            if hmac.compare_digest(presented, key):")],
           says=["TypeError"]),
    Answer("10.2", "a key without a TTL",
           edit=[("    CACHE.set(key, json.dumps(value), ex=TTL_SECONDS + random.randint(0, TTL_SECONDS // 10))",
                  "    CACHE.set(key, json.dumps(value))")],
           says=["a key without a TTL"]),
    Answer("10.2", "an in-process dict instead of Valkey (two workers, two caches)",
           edit=[(GET_HIT, "        if key in LOCAL:\n            return LOCAL[key]\n        return load_once"),
                 ("    CACHE.set(key, json.dumps(value), ex=TTL_SECONDS + random.randint(0, TTL_SECONDS // 10))",
                  "    LOCAL[key] = value"),
                 ("        CACHE.delete(*keys)\n", "        for key in keys:\n            LOCAL.pop(key, None)\n"),
                 ("TTL_SECONDS = 300\n", "TTL_SECONDS = 300\nLOCAL = {}\n")],
           says=["one cache per worker"]),
    Answer("10.2", "UNLINK instead of DEL, SETEX instead of SET ... EX",
           edit=[("        CACHE.delete(*keys)\n", "        CACHE.unlink(*keys)\n"),
                 ("    CACHE.set(key, json.dumps(value), ex=TTL_SECONDS + random.randint(0, TTL_SECONDS // 10))",
                  "    CACHE.setex(key, TTL_SECONDS + random.randint(0, TTL_SECONDS // 10), json.dumps(value))")],
           passes=True),
    # 10.3 stampede
    Answer("10.3", "no lock: every request that missed loads",
           edit=[(LOCKED, "        return keep(key, load())\n")],
           says=["at most 3 loads"]),
    Answer("10.3", "a lock, but no second look in the cache after taking it",
           edit=[("            found = CACHE.get(key)  # the request that held the lock before us may have loaded it\n"
                  "            if found is not None:\n                return json.loads(found)\n", "")],
           says=["look in the cache again"]),
    Answer("10.3", "a lock with no expiry: a crashed holder would block the key for ever",
           edit=[('        with CACHE.lock(f"lock:{key}", timeout=LOCK_SECONDS, blocking_timeout=WAIT_SECONDS):\n',
                  '        with CACHE.lock(f"lock:{key}", blocking_timeout=WAIT_SECONDS):\n')],
           passes=True),
    Answer("10.3", "the lock held only for the second look, released before loading",
           edit=[(LOCKED, '        with CACHE.lock(f"lock:{key}", timeout=LOCK_SECONDS, blocking_timeout=WAIT_SECONDS):\n'
                          "            found = CACHE.get(key)\n"
                          "        if found is not None:\n            return json.loads(found)\n"
                          "        return keep(key, load())\n")],
           says=["at most 3 loads"]),
    Answer("10.3", "a lock written by hand with SET NX EX, and a second look",
           edit=[(LOCK_BLOCK, HAND_LOCK), ("import random\n", "import random\nimport time\n")],
           passes=True),
    # 10.4 Valkey down
    Answer("10.4", "Python's own ConnectionError caught: valkey's is not one, so a 500",
           edit=[("CACHE_DOWN = (valkey.ConnectionError, valkey.TimeoutError)",
                  "CACHE_DOWN = (ConnectionError, TimeoutError)")],
           says=["ConnectionError"]),
    Answer("10.4", "falls back silently, no warning",
           edit=[(WARN_READ, "        pass\n"),
                 ('        log.warning("cache unavailable (%s): could not forget %s", error, keys)\n', "        pass\n")],
           says=["log.warning"]),
    Answer("10.4", "only reads fall back: forget() lets the error through, so writes answer 500",
           edit=[("CACHE_DOWN = (valkey.ConnectionError, valkey.TimeoutError)",
                  "CACHE_DOWN = (valkey.ConnectionError, valkey.TimeoutError)\nNOTHING = ()"),
                 ("        CACHE.delete(*keys)\n        # END SOLUTION\n    except CACHE_DOWN as error:",
                  "        CACHE.delete(*keys)\n        # END SOLUTION\n    except NOTHING as error:")],
           says=["ConnectionError"]),
    Answer("10.4", "log.error, and the root logger, instead of log.warning",
           edit=[(WARN_READ, '        log.error("cache unavailable (%s): %s read from the database", error, key)\n'),
                 ('        log.warning("cache unavailable (%s): could not forget %s", error, keys)\n',
                  '        logging.warning("cache unavailable: %s", error)\n')],
           passes=True),
]
