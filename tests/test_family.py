"""Lesson 09's framework samples each serve the contract's core (coursekit.labs.lab09.CORE).

The samples are the %%writefile cells of the lesson notebook, written into a temp folder and served
as the lesson serves them. A broken sample (Bottle's own JSON reader, which accepts NaN) must fail.
"""
import re
from pathlib import Path

import nbformat
import pytest

from coursekit.contract import ENV_DB
from coursekit.labs.lab09 import CORE, GET_NOT_FOUND, core_clauses, run_core
from coursekit.servers import launch

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "09-the-framework-family.ipynb"
WRITEFILE = re.compile(r"%%writefile (\S+)\n")
SAMPLES = [  # file, kind, app attribute: as the lesson's comparison table serves them
    ("apps/family_bottle.py", "gunicorn", "app"),
    ("apps/family_falcon.py", "gunicorn", "app"),
    ("apps/family_falcon.py", "uvicorn", "asgi_app"),
    ("apps/family_starlette.py", "uvicorn", "app"),
    ("apps/family_tornado.py", "script", "app"),
]


def write_samples(folder):
    """Every %%writefile cell of the lesson, written under folder; the paths written."""
    written = []
    for cell in nbformat.read(LESSON, as_version=4).cells:
        match = WRITEFILE.match(cell.source) if cell.cell_type == "code" else None
        if match:
            target = folder / match.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(cell.source[match.end():] + "\n")
            written.append(match.group(1))
    return written


def serve_core(folder, file, kind, app):
    server = launch(folder / file, kind, app=app, name=f"family-{kind}-{Path(file).stem}", quiet=True,
                    timeout=20, env={ENV_DB: str(folder / "family.db")})
    try:
        return run_core(server)
    finally:
        server.stop()


def test_core_is_named_clauses_of_the_contract_and_the_get_half_of_not_found():
    assert [c.id for c in core_clauses()] == CORE + [GET_NOT_FOUND.id]


def test_the_lesson_table_serves_every_sample_tested_here():
    source = "".join(c.source for c in nbformat.read(LESSON, as_version=4).cells if c.cell_type == "code")
    for file, kind, app in SAMPLES:
        assert f'("{Path(file).name}", "{kind}", "{app}"' in source, (file, kind, app)


@pytest.mark.servers
@pytest.mark.parametrize("file,kind,app", SAMPLES, ids=[f"{Path(f).stem}-{k}" for f, k, _ in SAMPLES])
def test_every_sample_serves_the_core(file, kind, app, tmp_path):
    assert file in write_samples(tmp_path)
    report = serve_core(tmp_path, file, kind, app)
    assert [o.clause.id for o in report.outcomes] == CORE + [GET_NOT_FOUND.id]
    assert report.passed, f"{file} on {kind} breaks the core:\n{report}"


@pytest.mark.servers
def test_a_sample_that_trusts_the_framework_json_reader_fails_the_core(tmp_path):
    write_samples(tmp_path)
    sample = tmp_path / "apps" / "family_bottle.py"
    source = sample.read_text()
    # Bottle's request.json: a cut-off body raises its HTML 400 page, not the contract's error.
    mistake = "store.read_bookmark(json.dumps(request.json).encode())"
    sample.write_text(source.replace("store.read_bookmark(request.body.read())", mistake))
    assert sample.read_text() != source
    report = serve_core(tmp_path, "apps/family_bottle.py", "gunicorn", "app")
    assert [o.clause.id for o in report.failed] == ["errors.malformed_json"], str(report)
