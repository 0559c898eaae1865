"""Grade a class: run every student's lab notebook in a kernel of its own and report each exercise.

    python3 course.py grade FOLDER [--out DIR] [--jobs N] [--timeout S] [--cell-timeout S]

Where notebooks are found (the student's name is the first part of the path under FOLDER):
    FOLDER/ada/03-lab-wsgi-by-hand.ipynb             one folder per student
    FOLDER/ada/my-labs/03-lab-wsgi-by-hand.ipynb     a student's clone of the course (my-labs/ wins;
                                                     its labs/, solutions/, notebooks/ are skipped)
    FOLDER/ada-03-lab-wsgi-by-hand.ipynb             flat: student name, '-', the lab's file name
Each notebook runs from a temporary copy, in a process of its own (its own process group) that
starts its own kernel, under a deadline; every process it started is found afterwards by a mark in
its environment and stopped. Writes FOLDER/grades.csv and FOLDER/grades.html (or into --out).
"""
import argparse
import csv
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from coursekit.ports import listening_sockets

ROOT = Path(__file__).resolve().parent.parent
LAB_FILE = re.compile(r"^(\d\d)-lab-[a-z0-9-]+\.ipynb$")
FLAT_FILE = re.compile(r"^(.+?)[-_ ]((\d\d)-lab-[a-z0-9-]+\.ipynb)$")
CHECKPOINT_COPY = re.compile(r"^(\d\d-lab-[a-z0-9-]+)\.checkpoint-[\d.]+(?:-\d+)?\.ipynb$")
CHECK_CALL = re.compile(r"""check\(\s*["'](\d+\.\d+)["']""")
CHECKPOINT_CALL = re.compile(r"""checkpoint\(\s*["'](\d+\.\d+)["']""")
SKIPPED_FOLDERS = {"labs", "solutions", "notebooks", ".ipynb_checkpoints", "apps", ".git", ".venv"}
MARK = "COURSEKIT_GRADE_RUN"  # every process a graded notebook starts inherits this
TIMEOUT = 300  # seconds a whole notebook may take
CELL_TIMEOUT = 60  # seconds one cell may take before its kernel is interrupted
CLEANUP_SECONDS = 8  # the toolkit's own clean-up after a kernel ends (the watchdog needs up to 5 s)


@dataclass
class Submission:
    student: str
    lab: str  # "03"
    path: Path
    note: str = ""  # how it was found, when that matters (a checkpoint copy)


@dataclass
class Result:
    submission: Submission
    exercises: dict = field(default_factory=dict)  # "3.1" -> {"passed", "total", "report"}
    problems: list = field(default_factory=list)  # notebook-level, in words
    untouched: bool = False
    seconds: float = 0.0


# ----- finding the notebooks --------------------------------------------------------------

def course_lab(number: str) -> Path | None:
    """The course's labs/NN-lab-*.ipynb for lab `number` ("03"), or None."""
    found = sorted((ROOT / "labs").glob(f"{number}-lab-*.ipynb"))
    return found[0] if found else None


def find_submissions(folder: Path) -> list[Submission]:
    """Every student's lab notebooks under `folder`, one per student and lab (layouts: see above)."""
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file():
            flat = FLAT_FILE.match(path.name)
            if flat and course_lab(flat.group(3)):
                found.setdefault((flat.group(1), flat.group(3)), Submission(flat.group(1), flat.group(3), path))
        elif path.is_dir() and not path.name.startswith("."):
            for sub in student_notebooks(path):
                found.setdefault((sub.student, sub.lab), sub)
    return sorted(found.values(), key=lambda s: (s.student, s.lab))


def student_notebooks(folder: Path) -> list[Submission]:
    """A student's lab notebooks: my-labs/ first, then anywhere else in their folder. Where the
    student also made checkpoint copies, the most recently changed of those files is graded."""
    candidates = {}  # lab -> [paths]
    places = [folder / "my-labs", folder]
    for place in places:
        if not place.is_dir():
            continue
        for path in sorted(place.rglob("*.ipynb")):
            relative = path.relative_to(folder).parts
            if any(part in SKIPPED_FOLDERS for part in relative[:-1]):
                continue
            if place == folder and relative[0] == "my-labs":
                continue
            match = LAB_FILE.match(path.name) or CHECKPOINT_COPY.match(path.name)
            if match and course_lab(path.name[:2]):
                lab = path.name[:2]
                if lab in candidates and candidates[lab][0].parent != path.parent:
                    continue  # my-labs/ (or the first folder found) wins over other copies
                candidates.setdefault(lab, []).append(path)
    subs = []
    for lab, paths in sorted(candidates.items()):
        newest = max(paths, key=lambda p: (p.stat().st_mtime, LAB_FILE.match(p.name) is not None))
        note = ""
        if CHECKPOINT_COPY.match(newest.name):
            note = (f"graded {newest.name}, a checkpoint copy: the exercises before its checkpoint "
                    "hold the course's reference answers")
        subs.append(Submission(folder.name, lab, newest, note))
    return subs


def code_sources(notebook) -> list[str]:
    return [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"]


def expected_exercises(lab_path: Path) -> list[str]:
    """The exercises a lab checks, in order (from its check("N.M") cells)."""
    import nbformat

    lab = nbformat.read(lab_path, as_version=4)
    numbers = [n for cell in lab.cells if cell.cell_type == "code" for n in CHECK_CALL.findall(cell.source)]
    return list(dict.fromkeys(numbers))


# ----- running one notebook ---------------------------------------------------------------

def grade(sub: Submission, timeout: float = TIMEOUT, cell_timeout: float = CELL_TIMEOUT) -> Result:
    """Run one student's notebook from a temporary copy and collect its checks' results. Never raises."""
    import nbformat

    result = Result(sub)
    if sub.note:
        result.problems.append(sub.note)
    started = time.monotonic()
    try:
        notebook = nbformat.read(sub.path, as_version=4)
    except Exception as error:  # not a notebook any more (a bad merge, a half-saved file)
        result.problems.append(f"could not be read as a notebook: {type(error).__name__}: {error}")
        return result
    lab = course_lab(sub.lab)
    result.untouched = code_sources(notebook) == code_sources(nbformat.read(lab, as_version=4))
    used = sorted(set(CHECKPOINT_CALL.findall("\n".join(code_sources(notebook)))))
    if used:
        result.problems.append(f"calls checkpoint({', '.join(used)}): the exercises before it ran "
                               "the course's reference code")
    work = Path(tempfile.mkdtemp(prefix="coursekit-grade-"))
    try:
        copy = work / sub.path.name
        shutil.copy2(sub.path, copy)
        progress, record = work / ".grading-progress.jsonl", work / ".grading-record.jsonl"
        mark = uuid.uuid4().hex
        env = dict(os.environ, **{MARK: mark}, COURSEKIT_CHECK_RECORD=str(record),
                   COURSEKIT_STORED_RUN="1", IPYKERNEL_CELL_NAME="<IPY-INPUT>")
        with open(work / ".grading-runner.log", "wb") as log:
            runner = subprocess.Popen(
                [sys.executable, "-m", "coursekit.grading", "--run-one", str(copy), str(progress),
                 str(cell_timeout)], cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
            try:
                runner.wait(timeout)
            except subprocess.TimeoutExpired:
                kill_group(runner.pid)
                runner.wait()
                result.problems.append(f"did not finish within {timeout:g} s and was stopped "
                                       f"({where_it_stopped(progress, notebook, cell_timeout)})")
        stop_kernels(mark)
        events = read_lines(progress)
        result.problems += kernel_problems(events, notebook, cell_timeout)
        if runner.returncode not in (0, -signal.SIGKILL) and not any(e["event"] in ("died", "failed")
                                                                      for e in events):
            tail = (work / ".grading-runner.log").read_text(errors="replace")[-600:]
            result.problems.append(f"the grader could not run it (exit code {runner.returncode}): {tail}")
        result.problems += stop_leftovers(mark)
        collect(result, events, read_lines(record), notebook)
    except Exception as error:  # the grader always finishes: say what went wrong and go on
        result.problems.append(f"the grader failed on this notebook: {type(error).__name__}: {error}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
        result.seconds = time.monotonic() - started
    return result


def read_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            pass  # a line cut short by a kill
    return lines


def cell_number(notebook, index: int) -> str:
    """'code cell 5' counted as JupyterLab shows them (code cells only, from 1)."""
    code = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    return f"code cell {code.index(index) + 1}" if index in code else f"cell {index + 1}"


def where_it_stopped(progress: Path, notebook, cell_timeout: float) -> str:
    done = [e for e in read_lines(progress) if e["event"] == "done"]
    stuck = None  # the first of the cells that all timed out at the end: the kernel never left it
    for event in done:
        stuck = (stuck or event) if event["seconds"] >= cell_timeout else None
    if stuck:
        return (f"its kernel never finished {cell_number(notebook, stuck['cell'])}, which ignored "
                "the interrupt; the cells after it waited")
    started = [e for e in read_lines(progress)
               if e["event"] == "start" and notebook.cells[e["cell"]].cell_type == "code"]
    if not started:
        return "before its first cell ran"
    return f"it was running {cell_number(notebook, started[-1]['cell'])}"


def kernel_problems(events: list[dict], notebook, cell_timeout: float) -> list[str]:
    problems = []
    for event in events:
        if event["event"] == "done" and event["seconds"] >= cell_timeout:
            problems.append(f"{cell_number(notebook, event['cell'])} did not finish within "
                            f"{cell_timeout:g} s and was interrupted (an endless loop?)")
        elif event["event"] == "died":
            problems.append(f"its kernel died in {cell_number(notebook, event['cell'])} (the cell "
                            "ended the Python process); the cells after it did not run")
        elif event["event"] == "failed":
            problems.append(f"could not be run: {event['message']}")
    return problems


def collect(result: Result, events: list[dict], records: list[dict], notebook):
    """Each expected exercise: its last recorded check and the text its check cell printed."""
    texts = {}
    for event in events:
        if event["event"] == "done":
            for number in CHECK_CALL.findall(notebook.cells[event["cell"]].source):
                texts[number] = event["output"]
    recorded = {r["exercise"]: r for r in records}
    for number in expected_exercises(course_lab(result.submission.lab)):
        entry = recorded.get(number)
        if entry is None:
            result.exercises[number] = {"passed": 0, "total": None, "status": "not run",
                                        "report": texts.get(number, "")}
            continue
        done = entry["total"] and entry["passed"] == entry["total"]
        status = "not started" if result.untouched else ("passed" if done else "failed")
        result.exercises[number] = {"passed": entry["passed"], "total": entry["total"],
                                    "status": status, "report": texts.get(number, "")}


# ----- processes: the mark, kernels, what is left -----------------------------------------

def kill_group(pid: int):
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def marked(mark: str) -> list[psutil.Process]:
    """Live processes (not zombies) whose environment carries this run's mark."""
    found = []
    for proc in psutil.process_iter(["environ"]):
        try:
            if (proc.info["environ"] or {}).get(MARK) == mark and proc.status() != psutil.STATUS_ZOMBIE:
                found.append(proc)
        except psutil.Error:
            pass
    return found


def stop_kernels(mark: str):
    """Kill a kernel the runner left behind (after a timeout): its watchdog then stops its servers."""
    for proc in marked(mark):
        try:
            if "ipykernel" in " ".join(proc.cmdline()):
                proc.kill()
        except psutil.Error:
            pass


def stop_leftovers(mark: str) -> list[str]:
    """Wait for the toolkit's own clean-up; then stop, and describe, whatever the notebook left."""
    end = time.monotonic() + CLEANUP_SECONDS
    left = marked(mark)
    while left and time.monotonic() < end:
        time.sleep(0.2)
        left = marked(mark)
    if not left:
        return []
    problems = []
    for proc in left:
        try:
            command = " ".join(proc.cmdline())[:100]
        except psutil.Error:
            command = "?"
        ports = sorted(port for _, port in listening_sockets([proc.pid]))
        listens = f", listening on port {', '.join(map(str, ports))}" if ports else ""
        problems.append(f"left a process running after its kernel ended: {command}{listens}; "
                        "the grader stopped it (stop servers with stop() or stop_all())")
    for hard in (False, True):
        for proc in left:
            try:
                proc.kill() if hard else proc.terminate()
            except psutil.Error:
                pass
        gone, left = psutil.wait_procs(left, timeout=3)
        if not left:
            break
    return problems


# ----- the runner (a process of its own per notebook) -------------------------------------

def run_one(path: str, progress: str, cell_timeout: float) -> int:
    """Execute one notebook top to bottom, writing each cell's start and result to `progress`."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    out = open(progress, "a")
    current, started = {"cell": None}, {}

    def write(**entry):
        out.write(json.dumps(entry) + "\n")
        out.flush()

    def on_start(cell, cell_index):
        current["cell"] = cell_index
        started[cell_index] = time.monotonic()
        write(event="start", cell=cell_index)

    def on_executed(cell, cell_index, execute_reply):
        text = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text.append(output.get("text", ""))
            elif output.get("output_type") == "error":
                text.append(f"{output.get('ename')}: {output.get('evalue')}\n")
            elif "text/plain" in output.get("data", {}):
                text.append(output["data"]["text/plain"] + "\n")
        write(event="done", cell=cell_index, seconds=time.monotonic() - started[cell_index],
              output="".join(text)[-20_000:])

    notebook = nbformat.read(path, as_version=4)
    # On a cell's timeout: one interrupt, and the cell counts as failed (without error_on_timeout,
    # nbclient would interrupt again and again while the kernel is still handling the first).
    timed_out = {"ename": "TimeoutError", "evalue": f"the cell did not finish within {cell_timeout:g} s",
                 "traceback": []}
    client = NotebookClient(notebook, timeout=cell_timeout, interrupt_on_timeout=True, allow_errors=True,
                            error_on_timeout=timed_out,
                            kernel_name="python3",
                            record_timing=False, resources={"metadata": {"path": str(Path(path).parent)}},
                            on_cell_start=on_start, on_cell_executed=on_executed)
    # The kernel talks over TCP: with IPC transport, nbclient's cell timeout never fires (measured
    # with nbclient 0.11). A kernel that fails to start (a port taken meanwhile) gets one more try.
    try:
        try:
            client.execute()
        except RuntimeError:
            if current["cell"] is not None:
                raise
            client.execute()
    except DeadKernelError:
        write(event="died", cell=current["cell"])
    except Exception as error:
        write(event="failed", message=f"{type(error).__name__}: {str(error)[:300]}")
    return 0


# ----- the reports ------------------------------------------------------------------------

COLUMNS = ["student", "lab", "exercise", "passed", "total", "status", "notebook"]


def rows(results: list[Result]) -> list[dict]:
    table = []
    for result in results:
        note = "; ".join(result.problems)
        if result.untouched:
            note = "; ".join(["never started: the code is the untouched starter", *result.problems])
        for number, ex in result.exercises.items():
            table.append({"student": result.submission.student, "lab": result.submission.lab,
                          "exercise": number, "passed": ex["passed"],
                          "total": "" if ex["total"] is None else ex["total"],
                          "status": ex["status"], "notebook": note})
        if not result.exercises:
            table.append({"student": result.submission.student, "lab": result.submission.lab,
                          "exercise": "", "passed": 0, "total": "", "status": "not run",
                          "notebook": note})
    return table


def write_csv(results: list[Result], path: Path):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows(results))


STYLE = """body{font-family:sans-serif;margin:2em;max-width:75em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}.passed{background:#dfd}
.failed{background:#fdd}.not-run,.not-started{background:#eee}pre{background:#f6f6f6;padding:.5em;
white-space:pre-wrap}.problem{color:#a00}"""


def write_html(results: list[Result], path: Path, folder: Path):
    """One page, no scripts or links to the network: a summary grid, then each student's feedback."""
    e = html.escape
    numbers = {}
    for result in results:
        for number in result.exercises:
            numbers.setdefault(result.submission.lab, {}).setdefault(number, None)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Grades: {e(folder.name)}</title>"
             f"<style>{STYLE}</style></head><body><h1>Grades: {e(str(folder))}</h1>",
             f"<p>Graded {time.strftime('%Y-%m-%d %H:%M')}, {len(results)} notebook(s). "
             "Each cell: parts passed of parts checked.</p>"]
    for lab, exercises in sorted(numbers.items()):
        parts.append(f"<h2>Lab {e(lab)}</h2><table><tr><th>student</th>"
                     + "".join(f"<th>{e(n)}</th>" for n in exercises) + "<th>notebook</th></tr>")
        for result in (r for r in results if r.submission.lab == lab):
            cells = []
            for number in exercises:
                ex = result.exercises.get(number)
                shown = "" if ex is None else (f"{ex['passed']}/{ex['total']}" if ex["total"] is not None
                                               else ex["status"])
                kind = "" if ex is None else ex["status"].replace(" ", "-")
                cells.append(f"<td class='{kind}'>{e(shown)}</td>")
            problems = len(result.problems) + result.untouched
            parts.append(f"<tr><td><a href='#{e(anchor(result))}'>{e(result.submission.student)}</a></td>"
                         + "".join(cells) + f"<td>{'see below' if problems else 'ok'}</td></tr>")
        parts.append("</table>")
    for result in results:
        sub = result.submission
        parts.append(f"<h2 id='{e(anchor(result))}'>{e(sub.student)}, lab {e(sub.lab)}</h2>"
                     f"<p>{e(str(sub.path.relative_to(folder)))} ({result.seconds:.1f} s)</p>")
        if result.untouched:
            parts.append("<p class='problem'>Never started: the code is the untouched starter.</p>")
        for problem in result.problems:
            parts.append(f"<p class='problem'>{e(problem)}</p>")
        for number, ex in result.exercises.items():
            total = "" if ex["total"] is None else f" ({ex['passed']} of {ex['total']} parts)"
            report = ex["report"] or "(the check printed nothing: it did not run)"
            parts.append(f"<h3 class='{ex['status'].replace(' ', '-')}'>Exercise {e(number)}: "
                         f"{e(ex['status'])}{e(total)}</h3><pre>{e(report)}</pre>")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")


def anchor(result: Result) -> str:
    return re.sub(r"[^\w-]", "_", f"{result.submission.student}-{result.submission.lab}")


# ----- the command ------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    if argv[:1] == ["--run-one"]:
        return run_one(argv[1], argv[2], float(argv[3]))
    parser = argparse.ArgumentParser(prog="course.py grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, help="folder for grades.csv and grades.html (default: FOLDER)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks run at once (default 2)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per notebook")
    parser.add_argument("--cell-timeout", type=float, default=CELL_TIMEOUT, help="seconds per cell")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if not folder.is_dir():
        print(f"{args.folder} is not a folder. Name the folder that holds the students' notebooks.")
        return 2
    subs = find_submissions(folder)
    if not subs:
        print(f"No lab notebooks found in {folder}. Expected FOLDER/STUDENT/NN-lab-title.ipynb, "
              "FOLDER/STUDENT/my-labs/NN-lab-title.ipynb or FOLDER/STUDENT-NN-lab-title.ipynb.")
        return 2
    print(f"Grading {len(subs)} notebook(s), {args.jobs} at a time ...", flush=True)

    def one(sub):
        result = grade(sub, args.timeout, args.cell_timeout)
        done = sum(ex["status"] == "passed" for ex in result.exercises.values())
        print(f"  {sub.student}, lab {sub.lab}: {done} of {len(result.exercises)} exercises passed"
              f"{' (see the report)' if result.problems or result.untouched else ''}, "
              f"{result.seconds:.1f} s", flush=True)
        return result

    started = time.monotonic()
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = list(pool.map(one, subs))
    out = (args.out or folder).resolve()
    out.mkdir(parents=True, exist_ok=True)
    write_csv(results, out / "grades.csv")
    write_html(results, out / "grades.html", folder)
    print(f"Done in {time.monotonic() - started:.0f} s: {out / 'grades.csv'} and {out / 'grades.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
