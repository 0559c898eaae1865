"""An outside, property-based pass over every implementation of the contract (schemathesis).

tests/test_contract.py sends the requests the contract's authors thought of. Here schemathesis
reads an OpenAPI document and makes up its own, thousands of them, valid and invalid: odd Unicode,
wrong types, missing and unknown fields, numbers at and past every bound, methods a path does not
allow, and sequences (create, then read, change and delete what was made). Every implementation of
tests/test_contract.py gets the contract's own document, coursekit/contract-openapi.yaml, written by
hand; FastAPI also gets the document it writes from its code.

The checks: no answer of 500, every status and Content-Type the document lists, bodies and headers
of the documented shape, a 405 for a method the document does not list, 401 without the key, and a
deleted item gone for good. Two checks are left out because they test the document's precision
rather than the server: "valid data accepted" and "invalid data refused" need the document to say
exactly what the contract accepts as a URL or a blank title (Python's urlsplit and str.strip), which
a JSON Schema pattern can only approximate. The invalid data is still sent, and may not cause a 500.
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from coursekit import contract
from test_contract import IMPLEMENTATIONS, Implementation, serve

DOCUMENT = Path(contract.__file__).with_name("contract-openapi.yaml")
LEFT_OUT = "positive_data_acceptance,negative_data_rejection"
EXAMPLES = 15     # generated cases per operation and phase; a fixed seed makes a run repeatable
SECONDS = 600     # one run, on a loaded machine; it takes 10 to 30 s on an idle one


def fuzz(document, base_url, key, checks="all", exclude=LEFT_OUT, *extra):
    """Run schemathesis's command line on `document` against `base_url`; (passed, its report)."""
    command = [sys.executable, "-m", "schemathesis.cli", "run", str(document), "--url", base_url.rstrip("/"),
               "--header", f"Authorization: Bearer {key}", "--checks", checks,
               "--max-examples", str(EXAMPLES), "--seed", "1", "--workers", "1", "--no-color",
               "--request-timeout", "10", "--generation-database", "none",
               *(["--exclude-checks", exclude] if exclude else []), *extra]
    # schemathesis keeps a crash cache in .schemathesis/ under its working folder; run it in a
    # folder of its own, so the course's top folder stays clean (tests/test_hygiene.py checks that).
    with tempfile.TemporaryDirectory() as folder:
        run = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS, cwd=folder)
    report = run.stdout + run.stderr
    # Only the failures and the summary: the whole report runs to hundreds of lines.
    start = report.find("FAILURES")
    return run.returncode == 0, report[start if start >= 0 else -3000:]


@pytest.mark.servers
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda i: i.id)
def test_generated_requests_find_no_500_and_no_undocumented_answer(implementation, tmp_path):
    server, key, _, _ = serve(implementation, tmp_path)
    try:
        passed, report = fuzz(DOCUMENT, server.url, key)
    finally:
        server.stop()
    assert passed, f"{implementation.id} broke the contract's OpenAPI document:\n{report}"


@pytest.mark.servers
def test_fastapi_own_document_says_what_the_app_answers(tmp_path):
    """FastAPI's /openapi.json, as a student's tool would read it, held to every check: each route
    declares the contract's errors it sends (responses=answers(...)), else the document lists only
    the 2xx and FastAPI's own 422 shape. This pass found the preview route's 500 for a huge id."""
    fastapi = next(i for i in IMPLEMENTATIONS if i.id == "fastapi")
    server, key, _, _ = serve(fastapi, tmp_path)
    try:
        passed, report = fuzz(server.url + "openapi.json", server.url, key)
    finally:
        server.stop()
    assert passed, f"FastAPI's own document and its answers disagree:\n{report}"


@pytest.mark.servers
def test_the_pass_catches_a_500(tmp_path):
    """The pass can fail: a validator that calls .strip() before it checks the type answers 500
    to {"title": 42}, and schemathesis finds that without being told."""
    wrong = Implementation("wsgi-type-unchecked", "tests/apps", "contract_wsgi.py", "gunicorn")
    path = wrong.prepare(tmp_path)
    core = tmp_path / "contract_core.py"
    before = "if not isinstance(data[name], str) or not data[name].strip()"
    assert core.read_text().count(before) == 1, "the mutation no longer names real code"
    core.write_text(core.read_text().replace(before, "if not data[name].strip()"))
    server, key, _, _ = serve(wrong, tmp_path, path)
    try:
        passed, report = fuzz(DOCUMENT, server.url, key, "not_a_server_error", "",
                              "--include-path", "/api/bookmarks", "--include-method", "POST")
    finally:
        server.stop()
    assert not passed and "Server error" in report, report


def test_the_document_states_the_contracts_numbers():
    document = yaml.safe_load(DOCUMENT.read_text())
    schemas, listing = document["components"]["schemas"], document["paths"]["/api/bookmarks"]["get"]
    query = {p["name"]: p["schema"] for p in listing["parameters"]}
    assert (query["limit"]["default"], query["limit"]["maximum"]) == (contract.DEFAULT_LIMIT, contract.MAX_LIMIT)
    assert query["offset"]["maximum"] == contract.MAX_OFFSET
    assert schemas["Url"]["maxLength"] == contract.MAX_URL
    assert schemas["Title"]["maxLength"] == contract.MAX_TITLE
    assert schemas["Tags"]["maxItems"] == contract.MAX_TAGS
    assert schemas["Tags"]["items"]["maxLength"] == contract.MAX_TAG
    assert set(schemas["NewBookmark"]["properties"]) == set(contract.ITEM_FIELDS) - {"id"}
    assert set(schemas["Bookmark"]["required"]) == set(contract.ITEM_FIELDS)
    statuses = {int(code) for path in document["paths"].values() for operation in path.values()
                if isinstance(operation, dict) for code in operation.get("responses", {})}
    assert set(contract.ERROR_CODES) - {405} <= statuses, "an error status of the contract is not documented"
