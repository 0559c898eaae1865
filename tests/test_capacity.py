"""`course.py capacity` at a small class size, as a test: three students on a real hub, staggered,
each running lesson 05 and lab 05's checks. The full sweep is the tool's job (tests/capacity.py)."""
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest

import capacity

pytestmark = [pytest.mark.servers, pytest.mark.hub,
              pytest.mark.skipif(os.name == "nt", reason="JupyterHub's local spawner is POSIX-only")]

STUDENTS = 3
STAGGER = 5
WALL_SECONDS = 600  # measured: about 50 s on the loaded 2-core machine; the margin is for worse days


def test_a_small_class_works_side_by_side_and_leaves_nothing():
    folder = Path(tempfile.mkdtemp(prefix="cap-"))
    try:
        began = time.monotonic()
        row = capacity.run_class(STUDENTS, STAGGER, folder, prefix="t")
        took = time.monotonic() - began
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert row["errors"] == [], "\n".join(row["errors"])
    # Every student ran the same checks (lab 05 has about 45 parts; the count grows with the lab), all passed.
    assert row["checks_total"] >= STUDENTS * 40 and row["checks_total"] % STUDENTS == 0, row
    assert row["checks_passed"] == row["checks_total"], row
    # Each student's checks talked to a server held by that student's own processes.
    assert row["cross_talk"] == [], "\n".join(row["cross_talk"])
    # No port was held by two students' processes at the same moment.
    assert row["collisions"] == [], "\n".join(row["collisions"])
    assert row["left_running"] == [], "still running after the hub stopped:\n" + "\n".join(row["left_running"])
    assert 0 < row["peak_rss_mib_per_student"] < 2048 and row["cpu_seconds_per_student"] > 0, row
    assert took < WALL_SECONDS, f"{STUDENTS} students took {took:.0f} s"


def test_nothing_listens_on_the_hub_ports_after_it_stops(monkeypatch):
    """run_class stops the hub even when a student's session fails, and its ports are free after."""
    seen = {}
    real_hub = capacity.Hub

    def recording_hub(folder):
        hub = real_hub(folder)
        seen["hub"] = hub
        return hub

    def failing_work(hub, student, sampler):
        raise RuntimeError("this student's laptop fell off the desk")

    monkeypatch.setattr(capacity, "Hub", recording_hub)
    monkeypatch.setattr(capacity, "work", failing_work)
    folder = Path(tempfile.mkdtemp(prefix="cap-"))
    try:
        row = capacity.run_class(1, 0, folder, prefix="u")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert row["errors"] == ["u01: RuntimeError: this student's laptop fell off the desk"]
    assert row["left_running"] == [] and seen["hub"].process.poll() is not None
    for port in (seen["hub"].public, seen["hub"].hub, seen["hub"].api):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still listens"


def student(name, checks):
    found = capacity.Student(name, checks=checks, cells=checks, first_cell=1.0, peak_rss=2**20)
    found.cpu = {1: 1.0}
    return found


@pytest.mark.parametrize("checks, within", [
    ([1.0, 1.5, 1.9], True),
    ([1.0, 2.1, 2.5], False),              # a student's median check passes 2 s
    ([0.5] * 19 + [11.0], True),           # one slow check of 20 is the p95's 5 %: still within
    ([0.5] * 18 + [11.0, 11.0], False),    # the p95 passes 10 s
])
def test_the_sweep_stops_at_the_bounds_of_the_issue(checks, within):
    row = capacity.figures(1, [student("s01", checks)], [], [], 1.0)
    assert row["within_bounds"] is within, row


def test_the_table_and_plot_are_written(tmp_path):
    rows = [capacity.figures(n, [student(f"s{i}", [1.0, 1.2]) for i in range(n)], [], [], 1.0)
            for n in (1, 2)]
    table = capacity.table(rows)
    assert table.splitlines()[0].startswith("| N | first cell") and "| 2 | 1.0 |" in table
    capacity.plot(rows, tmp_path / "capacity.svg")
    assert (tmp_path / "capacity.svg").read_text().lstrip().startswith("<?xml")


def test_a_server_held_by_another_student_is_cross_talk():
    ada, grace = student("ada", [1.0]), student("grace", [1.0])
    ada.launched, ada.listening = [4242], set()
    ada.cross_talk = ["port 4242 of ada's servers is held by grace"]
    row = capacity.figures(2, [ada, grace], [(4343, ["ada", "grace"])], [], 1.0)
    assert row["cross_talk"] == ["ada's kernel launched a server on port 4242, not held by its own processes",
                                 "port 4242 of ada's servers is held by grace"]
    assert row["collisions"] == ["port 4343: ada, grace"]


def test_a_wrong_class_size_is_explained(capsys):
    with pytest.raises(SystemExit):
        capacity.main(["--students", "two"])
    assert "give class sizes such as 1,2,4" in capsys.readouterr().err
