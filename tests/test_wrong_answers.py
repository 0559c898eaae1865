"""The wrong-answer table (tests/wrong_answers/): every wrong answer is flagged with the words that
name its cause, every valid variation passes, and no check leaves anything running.

Each lab's rows run in one real kernel (the way a student runs them), in a folder of their own.
"""
import importlib
import json
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil
import pytest

from conftest import IPCKernelManager

ROOT = Path(__file__).resolve().parent.parent
LABS = ["lab00", "lab01", "lab02", "lab03", "lab04", "lab05", "lab06", "lab07", "lab08", "lab09"]
# Seconds each table took alone on the course's 2-core machine (the notes print it). Three tables
# run at a time, so the longest start first; a lab not listed yet is assumed long and starts first.
MEASURED_SECONDS = {"lab00": 7, "lab01": 35, "lab02": 35, "lab03": 9, "lab04": 17, "lab05": 26,
                    "lab06": 30, "lab07": 100, "lab08": 40}
CHECK_CALL = re.compile(r"""^check\(\s*["'](\d+\.\d+)["']""")
RESULT = re.compile(r"Exercise (\d+\.\d+): (?:all (\d+) checks passed|(\d+) of (\d+) checks passed)")
LEFT_BEHIND = """
import json as _json, threading as _threading, time as _time
from coursekit.servers import running as _running
_deadline = _time.monotonic() + 15  # a check's threads end soon after it; a busy host is slow
while _threading.active_count() > _baseline and _time.monotonic() < _deadline:
    _time.sleep(0.05)
print(_json.dumps({"servers": [s.name for s in _running()],
                   "threads": sorted(t.name for t in _threading.enumerate())[:20],
                   "extra_threads": _threading.active_count() - _baseline}))
"""
# Threads a library starts once per process and keeps: started before the baseline, not counted as
# left behind (pycares, aiohttp's DNS resolver, keeps one from its first channel on).
PROCESS_THREADS = """
try:
    import pycares as _pycares
    _pycares.Channel()
except ImportError:
    pass
"""


class Kernel:
    """A kernel in `folder`; run(code) returns what the code printed (and any error's text)."""

    def __init__(self, folder):
        self.manager = IPCKernelManager(kernel_name="python3")
        self.manager.start_kernel(cwd=str(folder))
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code, timeout=120):
        out = []

        def hook(message):
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                out.append("\n".join(content["traceback"]))
            elif kind in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", ""))

        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=hook)
        return "".join(out), reply["content"]["status"]

    def stop(self):
        import asyncio

        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)
        self.manager.cleanup_resources()
        try:  # jupyter_client made an event loop for this thread: close it with the kernel
            asyncio.get_event_loop_policy().get_event_loop().close()
        except RuntimeError:
            pass


def code_cells(notebook):
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def edited(cells, edit):
    """The cells after the row's (old, new) replacements, and which of them changed."""
    cells, changed = list(cells), set()
    for old, new in edit:
        where = [n for n, source in enumerate(cells) if old in source]
        assert len(where) == 1 and cells[where[0]].count(old) == 1, (
            f"the edit {old[:60]!r} must match exactly once in the solution's code cells")
        cells[where[0]] = cells[where[0]].replace(old, new)
        changed.add(where[0])
    return cells, sorted(changed)


def processes_in(folder, kernel_pid):
    """Processes (other than the kernel and its watchdog) running in `folder` or below it."""
    found = []
    for proc in psutil.process_iter(["pid", "cwd", "cmdline"]):
        try:
            cwd, cmd = proc.info["cwd"] or "", " ".join(proc.info["cmdline"] or [])
            if (cwd.startswith(str(folder)) and proc.info["pid"] != kernel_pid
                    and "watchdog.py" not in cmd and proc.status() != psutil.STATUS_ZOMBIE):
                found.append(cmd[:120])
        except psutil.Error:
            pass
    return found


def outcome(report, exercise):
    """(passed, total) from a check's last line."""
    found = [m for m in RESULT.finditer(report) if m.group(1) == exercise]
    assert found, f"no result line for exercise {exercise} in:\n{report}"
    match = found[-1]
    if match.group(2):
        return int(match.group(2)), int(match.group(2))
    return int(match.group(3)), int(match.group(4))


def judge(row, report):
    """What is wrong with how the check treated this row ([] if nothing)."""
    passed, total = outcome(report, row.exercise)
    problems = []
    if row.passes and passed != total:
        problems.append(f"a valid answer failed ({passed} of {total})")
    if not row.passes and passed == total:
        problems.append(f"a wrong answer passed all {total} checks")
    problems += [f"the report lacks {text!r}" for text in row.says if text not in report]
    problems += [f"the report says {text!r}" for text in row.never if text in report]
    return problems


def run_table(lab, folder):
    """Run one lab's rows in a kernel of its own; returns (failures, a few lines on timings)."""
    table = importlib.import_module(f"wrong_answers.{lab}")
    solution = nbformat.read(ROOT / "solutions" / table.SOLUTION, as_version=4)
    cells = code_cells(solution)
    checks = {CHECK_CALL.match(source).group(1): source for source in cells
              if CHECK_CALL.match(source)}
    setup = [source for source in cells if not CHECK_CALL.match(source)]
    rows = table.ANSWERS
    failures, timings = [], []
    for number in checks:  # the table's promise: three wrong answers and a valid one per exercise
        wrong = sum(r.exercise == number and not r.passes for r in rows)
        valid = sum(r.exercise == number and r.passes for r in rows)
        if wrong < 3 or valid < 1:
            failures.append(f"exercise {number} has {wrong} wrong answers and {valid} valid ones")

    began = time.monotonic()
    kernel = Kernel(folder)
    try:
        for source in setup:
            _, status = kernel.run(source)
            assert status == "ok", f"{lab}: a solution cell failed:\n{source[:300]}"
        kernel.run(PROCESS_THREADS + "import threading; _baseline = threading.active_count()")
        for row in rows:
            changed_cells, changed = edited(setup, row.edit)
            for number in changed:
                kernel.run(changed_cells[number])
            started = time.monotonic()
            report, _ = kernel.run(checks[row.exercise])
            timings.append((time.monotonic() - started, row))
            problems = judge(row, report)
            for number in changed:  # put the solution back for the next row
                kernel.run(setup[number])
            left = json.loads(kernel.run(LEFT_BEHIND)[0].strip().splitlines()[-1])
            if left["servers"]:
                problems.append(f"servers left running: {left['servers']}")
            if left["extra_threads"] > 0:
                problems.append(f"{left['extra_threads']} thread(s) left running: {left['threads']}")
            stray = processes_in(folder, kernel.manager.provisioner.process.pid)
            if stray:
                problems.append(f"processes left running: {stray}")
            if problems:
                failures.append(f"{row.exercise} {row.name}:\n  " + "\n  ".join(problems)
                                + "\n  --- report ---\n" + report)
    finally:
        kernel.stop()
    valid = [seconds for seconds, row in timings if row.passes]
    checking = sum(seconds for seconds, _ in timings)
    notes = [f"{lab}: {len(rows)} rows in {time.monotonic() - began:.0f} s ({checking:.0f} s in checks); "
             f"the median check of a valid answer took {statistics.median(valid):.1f} s; the slowest:"]
    notes += [f"  {seconds:4.1f} s  {row.exercise} {row.name}"
              for seconds, row in sorted(timings, key=lambda pair: -pair[0])[:3]]
    return failures, notes


@pytest.fixture(scope="module")
def tables(request, tmp_path_factory):
    """Every selected lab's table, run three at a time in kernels of their own, longest first (most
    of the time goes on waiting for deadlines, so they overlap well)."""
    selected = sorted((lab for lab in LABS
                       if any(f"[{lab}]" in item.nodeid and item.module.__name__ == __name__
                              for item in request.session.items)),
                      key=lambda lab: -MEASURED_SECONDS.get(lab, 60))
    pool = ThreadPoolExecutor(max_workers=3)
    futures = {lab: pool.submit(run_table, lab, tmp_path_factory.mktemp(lab)) for lab in selected}
    yield futures
    pool.shutdown(wait=True)


@pytest.mark.servers
@pytest.mark.parametrize("lab", LABS)
def test_wrong_answers_are_flagged_and_valid_ones_pass(lab, tables):
    failures, notes = tables[lab].result()
    print("\n".join(notes))
    assert not failures, "\n\n".join(failures)
