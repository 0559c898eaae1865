"""`course.py grade FOLDER` on a class of generated students: every kind of notebook is reported,
none stops the grader, nothing is left running, and nothing is written among the submissions."""
import csv
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

from coursekit.grading import find_submissions
from coursekit.ports import port_is_listening

ROOT = Path(__file__).resolve().parent.parent
LAB00, SOLUTION00 = ROOT / "labs/00-lab-welcome.ipynb", ROOT / "solutions/00-solution-welcome.ipynb"
LAB03, SOLUTION03 = ROOT / "labs/03-lab-wsgi-by-hand.ipynb", ROOT / "solutions/03-solution-wsgi-by-hand.ipynb"


def read(path):
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return notebook


def after_check(notebook, number, source):
    """Insert a code cell right after the cell that calls check(number)."""
    index = next(i for i, c in enumerate(notebook.cells) if f'check("{number}"' in c.source)
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return notebook


def partly_done():
    """Lab 00's starter with exercise 0.1 answered (the solution's cell) and 0.2 not."""
    lab, solution = read(LAB00), read(SOLUTION00)
    index = next(i for i, c in enumerate(solution.cells) if c.source.startswith("def greeting"))
    lab.cells[index] = solution.cells[index]
    return lab


LEAK = ("import subprocess, sys\n"
        "leaked = subprocess.Popen([sys.executable, '-m', 'http.server', '0', '--bind', '127.0.0.1'],\n"
        "                          start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)")
STUBBORN = ("import time\nwhile True:\n    try:\n        time.sleep(0.5)\n"
            "    except KeyboardInterrupt:\n        pass")


def write(notebook, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A class of eight, graded once: (folder, CSV rows, HTML, the grader's output)."""
    folder = tmp_path_factory.mktemp("class")
    write(read(LAB00), folder / "untouched" / "00-lab-welcome.ipynb")
    write(partly_done(), folder / "partly" / "00-lab-welcome.ipynb")
    write(read(SOLUTION00), folder / "complete-00-lab-welcome.ipynb")  # the flat layout
    # A student's whole clone: my-labs/ is graded; the clone's labs/ and solutions/ are not.
    clone = folder / "lee & <kim>"
    write(read(SOLUTION00), clone / "my-labs" / "00-lab-welcome.ipynb")
    write(read(LAB00), clone / "labs" / "00-lab-welcome.ipynb")
    write(read(SOLUTION00), clone / "solutions" / "00-solution-welcome.ipynb")
    write(after_check(read(SOLUTION00), "0.1", "while True:\n    pass"), folder / "loop" / "00-lab-welcome.ipynb")
    write(after_check(read(SOLUTION00), "0.1", STUBBORN), folder / "stubborn" / "00-lab-welcome.ipynb")
    write(after_check(read(SOLUTION00), "0.1", "import os\nos.kill(os.getpid(), 9)"),
          folder / "killer" / "00-lab-welcome.ipynb")
    write(after_check(read(SOLUTION03), "3.4", LEAK), folder / "leaker" / "03-lab-wsgi-by-hand.ipynb")
    before = snapshot(folder)
    mark = uuid.uuid4().hex
    run = subprocess.run([sys.executable, "-m", "coursekit.grading", str(folder), "--jobs", "2",
                          "--cell-timeout", "20", "--timeout", "90"],
                         env=dict(os.environ, GRADING_TEST=mark), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    # Nothing the grader started is alive (servers, kernels, watchdogs, the loops).
    alive = [p for p in psutil.process_iter(["environ", "cmdline"])
             if (p.info["environ"] or {}).get("GRADING_TEST") == mark and p.status() != psutil.STATUS_ZOMBIE]
    assert not alive, [p.info["cmdline"] for p in alive]
    after = snapshot(folder)
    assert set(after) - set(before) == {"grades.csv", "grades.html"}
    assert {name: after[name] for name in before} == before, "the grader changed a submission"
    with open(folder / "grades.csv", newline="") as f:
        table = list(csv.DictReader(f))
    return folder, table, (folder / "grades.html").read_text(), run.stdout


def snapshot(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def row(table, student, exercise):
    found = [r for r in table if r["student"] == student and r["exercise"] == exercise]
    assert len(found) == 1, (student, exercise, table)
    return found[0]


@pytest.mark.servers
def test_every_kind_of_student_is_reported_in_the_csv(graded):
    _, table, _, _ = graded
    assert {(r["student"], r["lab"]) for r in table} == {
        ("untouched", "00"), ("partly", "00"), ("complete", "00"), ("lee & <kim>", "00"), ("loop", "00"),
        ("stubborn", "00"), ("killer", "00"), ("leaker", "03")}
    for r in table:
        assert r["total"] == "" or int(r["total"]) > 0, r
    def status(student, exercise):
        r = row(table, student, exercise)
        return r["status"], r["passed"] == r["total"]
    for student in ("complete", "lee & <kim>"):
        assert status(student, "0.1") == status(student, "0.2") == ("passed", True)
        assert row(table, student, "0.1")["notebook"] == ""
    assert status("untouched", "0.1") == status("untouched", "0.2") == ("not started", False)
    assert "never started" in row(table, "untouched", "0.1")["notebook"]
    assert status("partly", "0.1") == ("passed", True) and status("partly", "0.2") == ("failed", False)
    # An endless loop is interrupted and the notebook goes on; one that ignores the interrupt is
    # stopped at the notebook's deadline, with what it did by then.
    assert status("loop", "0.1") == status("loop", "0.2") == ("passed", True)
    assert "code cell 4 did not finish within 20 s and was interrupted" in row(table, "loop", "0.2")["notebook"]
    assert status("stubborn", "0.1") == ("passed", True) and status("stubborn", "0.2")[0] == "not run"
    assert "did not finish within 90 s and was stopped (its kernel never finished code cell 4," in row(
        table, "stubborn", "0.2")["notebook"]
    assert status("killer", "0.1") == ("passed", True) and status("killer", "0.2")[0] == "not run"
    assert "its kernel died in code cell 4" in row(table, "killer", "0.2")["notebook"]
    for exercise in ("3.1", "3.2", "3.3", "3.4"):
        assert status("leaker", exercise) == ("passed", True)


@pytest.mark.servers
def test_a_server_left_running_is_reported_and_stopped(graded):
    _, table, _, _ = graded
    note = row(table, "leaker", "3.1")["notebook"]
    found = re.search(r"left a process running after its kernel ended: \S+ -m http.server 0 --bind "
                      r"127.0.0.1, listening on port (\d+); the grader stopped it", note)
    assert found, note
    assert not port_is_listening(int(found.group(1)))


@pytest.mark.servers
def test_the_html_report_shows_each_students_feedback_escaped_and_offline(graded):
    _, _, page, _ = graded
    assert "lee &amp; &lt;kim&gt;" in page and "<kim>" not in page
    # The feedback a student sees under a check cell, for each student and exercise.
    assert page.count("✔ Exercise 0.1: all ") == 6  # everyone who answered 0.1
    assert re.search(r"✘ Exercise 0.2: \d of \d checks passed", page)  # the partly-done student
    assert "not written yet" in page
    assert "✔ Exercise 3.4: all " in page
    assert "Never started" in page and "its kernel died" in page
    # Offline: nothing to fetch (the students' logs may mention http:// addresses as text).
    assert not re.search(r"<script|<link|<img|src=|href=['\"]?https?:", page), page[:300]


@pytest.mark.servers
def test_the_grader_says_how_long_each_notebook_took(graded):
    _, _, _, out = graded
    assert re.search(r"complete, lab 00: 2 of 2 exercises passed, \d+\.\d s", out)
    assert "Grading 8 notebook(s)" in out


def test_layouts_one_folder_per_student_a_clone_and_flat(tmp_path):
    lab = read(LAB00)
    write(lab, tmp_path / "ada" / "00-lab-welcome.ipynb")
    write(lab, tmp_path / "bob" / "my-labs" / "00-lab-welcome.ipynb")
    write(lab, tmp_path / "bob" / "labs" / "00-lab-welcome.ipynb")  # the clone's pristine copy
    write(lab, tmp_path / "bob" / "my-labs" / ".ipynb_checkpoints" / "03-lab-wsgi-by-hand.ipynb")
    write(lab, tmp_path / "cy-00-lab-welcome.ipynb")
    write(lab, tmp_path / "dee" / "99-lab-nothing.ipynb")  # no such lab in the course
    found = [(s.student, s.lab, str(s.path.relative_to(tmp_path))) for s in find_submissions(tmp_path)]
    assert found == [("ada", "00", "ada/00-lab-welcome.ipynb"),
                     ("bob", "00", "bob/my-labs/00-lab-welcome.ipynb"),
                     ("cy", "00", "cy-00-lab-welcome.ipynb")]


def test_a_checkpoint_copy_newer_than_the_lab_is_graded_and_said(tmp_path):
    lab = read(LAB00)
    write(lab, tmp_path / "ada" / "00-lab-welcome.ipynb")
    write(lab, tmp_path / "ada" / "00-lab-welcome.checkpoint-0.2.ipynb")
    os.utime(tmp_path / "ada" / "00-lab-welcome.ipynb", (1, 1))
    [found] = find_submissions(tmp_path)
    assert found.path.name == "00-lab-welcome.checkpoint-0.2.ipynb"
    assert "reference answers" in found.note


def test_no_notebooks_and_no_folder_get_a_clear_message(tmp_path):
    for target, words in ((tmp_path, "No lab notebooks found"), (tmp_path / "nope", "is not a folder")):
        run = subprocess.run([sys.executable, "-m", "coursekit.grading", str(target)],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 2 and words in run.stdout
