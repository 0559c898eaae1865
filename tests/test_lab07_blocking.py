"""Lab 07's source check for blocking calls: it flags them only inside coroutines."""
from coursekit.labs.lab07 import blocking_calls


def test_blocking_calls_are_found_only_inside_coroutines(tmp_path):
    source = tmp_path / "app.py"
    source.write_text("import time, sqlite3, asyncio\nimport bookmarks_store as store\n\n"
                      "def setup():\n    time.sleep(1)\n\n"
                      "async def good(request):\n    await asyncio.to_thread(store.get_bookmark, 1)\n\n"
                      "async def bad(request):\n    time.sleep(0.1)\n    sqlite3.connect('x')\n"
                      "    return store.get_bookmark(1)\n")
    assert blocking_calls(source) == ["line 11 in bad(): time.sleep(...)",
                                      "line 12 in bad(): sqlite3.connect(...)",
                                      "line 13 in bad(): store.get_bookmark(...)"]
