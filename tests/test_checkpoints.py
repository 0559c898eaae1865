"""Catch-up checkpoints: the reference answers before exercise N.M arrive, the student's work stays,
and the lab's checks before N.M pass afterwards, in a real kernel."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import IPCKernelManager
from coursekit.checkpoints import CheckpointError, checkpoint, checkpoint_notebook, split

ROOT = Path(__file__).resolve().parent.parent
LAB00 = ROOT / "labs" / "00-lab-welcome.ipynb"
LAB03 = ROOT / "labs" / "03-lab-wsgi-by-hand.ipynb"
MINE = "# my own server, half written\n"


def run(notebook, folder, record):
    """Execute a notebook in `folder` with checks recorded; return ({exercise: (passed, total)}, outputs)."""
    NotebookClient(notebook, timeout=300, kernel_name="python3", kernel_manager_class=IPCKernelManager,
                   resources={"metadata": {"path": str(folder)}}).execute()
    results = {}
    for line in record.read_text().splitlines() if record.exists() else []:
        entry = json.loads(line)
        results[entry["exercise"]] = (entry["passed"], entry["total"])
    shown = ["".join(o.get("text", "") for o in cell.get("outputs", [])) for cell in notebook.cells]
    return results, shown


def test_from_a_terminal_a_new_notebook_has_the_reference_before_n_m_and_the_students_cells_after(
        tmp_path, monkeypatch):
    mine = tmp_path / "my-labs" / LAB00.name
    mine.parent.mkdir()
    lab = nbformat.read(LAB00, as_version=4)
    exercise_02 = dict(split(lab))[(0, 2)]
    writefile = next(c for c in exercise_02 if c.source.startswith("%%writefile"))
    writefile.source = "%%writefile apps/lab00_hello.py\n" + MINE
    nbformat.write(lab, mine)
    before = mine.read_bytes()

    done = subprocess.run([sys.executable, "-m", "coursekit.checkpoints", str(mine), "0.2"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    out = mine.with_name("00-lab-welcome.checkpoint-0.2.ipynb")
    assert str(out) in done.stdout and "0.1" in done.stdout and "unchanged" in done.stdout
    assert mine.read_bytes() == before, "the student's own notebook was changed"

    caught_up = nbformat.read(out, as_version=4)
    solution = nbformat.read(ROOT / "solutions" / "00-solution-welcome.ipynb", as_version=4)
    assert [c.source for c in dict(split(caught_up))[(0, 1)]] == [c.source for c in dict(split(solution))[(0, 1)]]
    assert MINE in "".join(c.source for c in dict(split(caught_up))[(0, 2)]), "the student's 0.2 was lost"

    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("COURSEKIT_CHECK_RECORD", str(record))
    results, _ = run(caught_up, mine.parent, record)
    assert results["0.1"][0] == results["0.1"][1] > 0, results
    assert results["0.2"][0] < results["0.2"][1], "the student's unfinished 0.2 should still fail"


@pytest.mark.servers
def test_in_the_kernel_earlier_answers_run_and_the_students_file_is_kept_beside(tmp_path, monkeypatch):
    folder = tmp_path / "my-labs"
    (folder / "apps").mkdir(parents=True)
    (folder / "apps" / "lab03_server.py").write_text(MINE)
    lab = nbformat.read(LAB03, as_version=4)
    notebook = nbformat.v4.new_notebook(metadata=lab.metadata, cells=[
        lab.cells[1],  # the lab's imports, as the student ran them
        nbformat.v4.new_code_cell('checkpoint("3.4")'),
        nbformat.v4.new_code_cell('check("3.1", Router)'),
        nbformat.v4.new_code_cell('check("3.2", timing, require_token, catch_errors)'),
        nbformat.v4.new_code_cell('check("3.3")'),
        nbformat.v4.new_code_cell("stop_all()"),
    ])
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("COURSEKIT_CHECK_RECORD", str(record))
    results, shown = run(notebook, folder, record)

    for number in ("3.1", "3.2", "3.3"):
        assert results[number][0] == results[number][1] > 0, f"{number} after the checkpoint: {results}"
    kept = list((folder / "apps").glob("lab03_server.mine-*.py"))
    assert len(kept) == 1 and kept[0].read_text() == MINE, "the student's server file was not kept"
    assert "Checkpoint 3.4: exercises 3.1, 3.2, 3.3" in shown[1]
    assert f"kept as apps/{kept[0].name}" in shown[1] and "Router" in shown[1]


@pytest.mark.parametrize("number, words", [
    ("9.1", "there is no lab 09"),
    ("3.9", "has no exercise 3.9; it has 3.1, 3.2, 3.3, 3.4"),
    ("3.1", "is the first exercise"),
    ("three", "name an exercise as LAB.EXERCISE"),
])
def test_a_wrong_exercise_gets_a_plain_message(number, words, capsys):
    checkpoint(number)
    assert words in capsys.readouterr().out


def test_the_terminal_version_refuses_the_wrong_lab_and_a_missing_file(tmp_path):
    mine = tmp_path / LAB00.name
    shutil.copy(LAB00, mine)
    with pytest.raises(CheckpointError, match="is not lab 03"):
        checkpoint_notebook(mine, "3.2")
    with pytest.raises(CheckpointError, match="does not exist"):
        checkpoint_notebook(tmp_path / "nothing.ipynb", "0.2")
