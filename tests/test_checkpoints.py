"""Catch-up checkpoints: the reference answers before N.M arrive, the student's own work survives,
the checks of the earlier exercises then pass in a real kernel, and bad input gets a clear message."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from coursekit.checkpoints import CheckpointError, checkpoint_notebook, reference_cells

ROOT = Path(__file__).resolve().parent.parent
LAB03 = ROOT / "labs/03-lab-wsgi-by-hand.ipynb"
MY_SERVER = '"""my own half-written server"""\nprint("mine")\n'


def run(notebook, folder, record):
    """Execute the notebook; {exercise: (passed, total, the check's report)}, the last of each."""
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return {e["exercise"]: (e["passed"], e["total"], e["report"])
            for e in map(json.loads, record.read_text().splitlines())} if record.exists() else {}


@pytest.mark.servers
def test_in_the_kernel_earlier_exercises_pass_and_the_students_files_are_kept(tmp_path, monkeypatch):
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("COURSEKIT_CHECK_RECORD", str(record))
    mine = nbformat.read(LAB03, as_version=4)
    server_cell = next(c for c in mine.cells if c.source.startswith("%%writefile apps/lab03_server.py"))
    server_cell.source = "%%writefile apps/lab03_server.py\n" + MY_SERVER  # the student's own server
    mine.cells[3].source += "\n\nmy_note = 'kept'"  # the student's own edit in 3.1's cell
    path = tmp_path / "03-lab-wsgi-by-hand.ipynb"
    nbformat.write(mine, path)
    saved = path.read_bytes()
    # The student ran their cells (all checks fail), then asks for the checkpoint before 3.4.
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell('from coursekit import checkpoint\nsaid = checkpoint("3.4")'))
    for number, answers in (("3.1", "Router"), ("3.2", "timing, require_token, catch_errors"), ("3.3", "")):
        notebook.cells.append(nbformat.v4.new_code_cell(f'check("{number}"{", " if answers else ""}{answers})'))
    after = run(notebook, tmp_path, record)  # the last record of each exercise: after the checkpoint
    first = {}
    for entry in map(json.loads, record.read_text().splitlines()):
        first.setdefault(entry["exercise"], (entry["passed"], entry["total"]))
    assert all(first[n][0] < first[n][1] for n in ("3.1", "3.2", "3.3"))  # before it: the starter
    for number in ("3.1", "3.2", "3.3"):
        passed, total, report = after[number]
        assert passed == total > 0, f"{number}: {passed} of {total} after the checkpoint:\n{report}"
    message = "".join(o.get("text", "") for o in notebook.cells[-4].outputs)
    assert "Checkpoint 3.4: the course's answers to the exercises before 3.4 are in place." in message
    assert "defined the reference" in message and "Router" in message
    kept = list((tmp_path / "apps").glob("lab03_server.mine-*.py"))
    assert len(kept) == 1 and kept[0].read_text().strip() == MY_SERVER.strip() and kept[0].name in message
    assert path.read_bytes() == saved  # the open notebook is never rewritten


@pytest.mark.servers
def test_from_the_terminal_a_new_notebook_keeps_the_students_cells(tmp_path, monkeypatch):
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("COURSEKIT_CHECK_RECORD", str(record))
    mine = nbformat.read(LAB03, as_version=4)
    mine.cells[-1].source = "# my own last cell\nstop_all()"
    path = tmp_path / "03-lab-wsgi-by-hand.ipynb"
    nbformat.write(mine, path)
    saved = path.read_bytes()
    done = subprocess.run([sys.executable, "-m", "coursekit.checkpoints", str(path), "3.3"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    made = tmp_path / "03-lab-wsgi-by-hand.checkpoint-3.3.ipynb"
    assert f"Wrote {made}" in done.stdout and "is unchanged" in done.stdout
    assert path.read_bytes() == saved
    notebook = nbformat.read(made, as_version=4)
    assert notebook.cells[-1].source == "# my own last cell\nstop_all()"
    results = run(notebook, tmp_path, record)
    for number in ("3.1", "3.2"):
        passed, total, report = results[number]
        assert passed == total > 0, f"{number}: {passed} of {total} after the checkpoint:\n{report}"
    passed, total, report = results["3.3"]
    assert passed < total, report  # from 3.3 on: the student's own (starter) cells
    again = subprocess.run([sys.executable, "-m", "coursekit.checkpoints", str(path), "3.3"],
                           capture_output=True, text=True, timeout=60)
    assert "checkpoint-3.3-2.ipynb" in again.stdout and made.exists()  # never overwritten


@pytest.mark.parametrize("lab, number, words", [
    ("labs/42", "42.1", "There is no lab 'labs/42'. The labs are: 00, 01"),
    ("labs/03", "3.9", "Lab 3 has no exercise 3.9; its exercises are 3.1, 3.2, 3.3, 3.4."),
    ("labs/03", "3.1", "3.1 is the lab's first exercise: there is nothing before it"),
    ("labs/03", "4.2", "Exercise '4.2' is not in lab 03"),
])
def test_bad_input_gets_a_clear_message(lab, number, words, tmp_path):
    done = subprocess.run([sys.executable, "-m", "coursekit.checkpoints", lab, number],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and words in done.stdout, done.stdout + done.stderr
    assert "Warning" not in done.stderr, done.stderr  # e.g. runpy: the module imported twice


def test_the_reference_stops_before_the_exercise():
    _, starts, cells = reference_cells("3.3")
    sources = "\n".join(c.source for c in cells)
    assert "def compile_pattern" in sources and "def timing" in sources
    assert "lab03_server.py" not in sources and "check(" not in sources
    with pytest.raises(CheckpointError):
        checkpoint_notebook("labs/03", "3.0")
