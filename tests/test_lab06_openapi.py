"""Lab 06's solution declares its API key as a security scheme (issue 30), so that the /docs page
has an Authorize button and "Try it out" sends the key, as the lab promises."""
import json
import subprocess
import sys
from pathlib import Path

from test_contract import files_from_notebook

ROOT = Path(__file__).resolve().parent.parent
PRINT_SCHEMA = """
import json
from fastapi.testclient import TestClient
from fastapi_bookmarks import app
client = TestClient(app)
schema = client.get("/openapi.json").json()
no_key = client.post("/api/bookmarks", json={"url": "https://example.org/", "title": "x"})
print(json.dumps({"schema": schema, "no_key": [no_key.status_code, no_key.headers.get("WWW-Authenticate"),
                                               no_key.json()]}))
"""


def test_the_solution_declares_the_bearer_scheme_and_answers_the_contracts_401(tmp_path):
    files_from_notebook(ROOT / "solutions/06-solution-fastapi.ipynb", tmp_path)
    env = {"BOOKMARKS_DB": str(tmp_path / "bookmarks.sqlite3"), "BOOKMARKS_API_KEY": "a-key-for-this-test"}
    done = subprocess.run([sys.executable, "-c", PRINT_SCHEMA], cwd=tmp_path / "apps", capture_output=True,
                          text=True, timeout=60, env={**__import__("os").environ, **env})
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    schemes = found["schema"].get("components", {}).get("securitySchemes", {})
    bearers = [name for name, scheme in schemes.items()
               if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"]
    assert bearers, f"no http bearer security scheme in /openapi.json: {schemes}"
    for method in ("post",):
        operation = found["schema"]["paths"]["/api/bookmarks"][method]
        assert {bearers[0]: []} in operation.get("security", []), operation.get("security")
    for path, method in (("/api/bookmarks/{bookmark_id}", "patch"), ("/api/bookmarks/{bookmark_id}", "delete")):
        operation = found["schema"]["paths"][path][method]
        assert {bearers[0]: []} in operation.get("security", []), (path, method)
    assert "security" not in found["schema"]["paths"]["/api/bookmarks"]["get"]  # reads stay open
    status, challenge, body = found["no_key"]
    assert status == 401 and challenge and challenge.lower().startswith("bearer"), found["no_key"]
    assert body.get("error") == "unauthorized", body
