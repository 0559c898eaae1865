"""How many students one host carries: N simulated students on the pinned JupyterHub.

    python3 course.py capacity [--students 1,2,4,8] [--stagger 10] [--out build/capacity]

Each student gets a server of their own from a real hub (tests/test_hub.py's machinery), started
`--stagger` seconds after the one before, as a class arrives. In it the student runs every code
cell of lesson 05 (Flask), then lab 05's solution with its checks, through a kernel websocket as
JupyterLab does. Recorded per student: time from asking for a server to the first cell's answer,
each cell's latency, each check's time, the peak memory (RSS summed over the student's server,
kernels and the servers those launched), the CPU seconds they used, and the ports they listened on.

The sweep stops at the first N where a student's median check time passes 2 s or the p95 of all
check times passes 10 s (the class feels it), and writes a table (capacity.md, capacity.json) and
a plot (capacity.svg). The suite runs one small N as a test (tests/test_capacity.py).
"""
import argparse
import json
import math
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil

from kernel_client import KernelClient
from test_hub import MARK, TOKEN, Hub, course_copy

ROOT = Path(__file__).resolve().parent.parent
LESSON = "notebooks/05-flask.ipynb"
LAB = "solutions/05-solution-flask.ipynb"
MEDIAN_CHECK_BOUND = 2.0   # seconds: a student's median check time
P95_CHECK_BOUND = 10.0     # seconds: the p95 of every check time in the class
SAMPLE_SECONDS = 0.5
SETUP = """
import os
os.environ['COURSEKIT_CHECK_RECORD'] = {record!r}
"""
PORTS = "import json\nfrom coursekit import running\nprint(json.dumps(sorted(s.port for s in running())))"
STOP = "from coursekit import stop_all\nstop_all()"


@dataclass
class Student:
    name: str
    started: float = 0.0           # monotonic time the server was asked for
    first_cell: float | None = None  # seconds from `started` to the first cell's answer
    cells: list = field(default_factory=list)    # seconds per lesson and lab cell
    checks: list = field(default_factory=list)   # seconds per check("5.N") cell
    passed: int = 0
    total: int = 0
    errors: list = field(default_factory=list)
    launched: list = field(default_factory=list)  # ports the student's kernel said it launched
    peak_rss: int = 0              # bytes, the largest sum seen at one sample
    cpu: dict = field(default_factory=dict)       # pid -> last seen user+system seconds
    listening: set = field(default_factory=set)   # every port seen listening in the student's tree
    cross_talk: list = field(default_factory=list)  # a launched port held by someone else


class Sampler(threading.Thread):
    """Every half second: each student's processes (found by the hub's mark and JUPYTERHUB_USER),
    their summed RSS, CPU seconds and listening ports; two students on one port is a collision."""

    def __init__(self, hub, students):
        super().__init__(daemon=True)
        self.hub, self.students = hub, {s.name: s for s in students}
        self.collisions, self.done = [], threading.Event()

    def run(self):
        while not self.done.wait(SAMPLE_SECONDS):
            self.sample()

    def sample(self):
        rss, owners = {}, {}
        for proc in psutil.process_iter(["environ"]):
            env = proc.info["environ"] or {}
            student = self.students.get(env.get("JUPYTERHUB_USER"))
            if env.get(MARK) != self.hub.mark or student is None:
                continue
            try:
                with proc.oneshot():
                    memory, times = proc.memory_info().rss, proc.cpu_times()
                    ports = [c.laddr.port for c in proc.net_connections("tcp")
                             if c.status == psutil.CONN_LISTEN]
            except psutil.Error:
                continue
            rss[student.name] = rss.get(student.name, 0) + memory
            student.cpu[proc.pid] = times.user + times.system
            for port in ports:
                student.listening.add(port)
                owners.setdefault(port, set()).add(student.name)
        for name, total in rss.items():
            student = self.students[name]
            student.peak_rss = max(student.peak_rss, total)
        self.collisions += [(port, sorted(names)) for port, names in owners.items() if len(names) > 1]
        return owners


def timed(kernel, code, seconds=300):
    began = time.monotonic()
    out, error = kernel.run(code, seconds)
    return time.monotonic() - began, out, error


def work(hub, student, sampler):
    """One student's session: their server, lesson 05's cells, then lab 05's solution and checks."""
    student.started = time.monotonic()
    answer = hub.api_post(f"users/{student.name}/server")
    assert answer.status_code in (201, 202), answer.text
    hub.wait_until(lambda: hub.api_get(f"users/{student.name}").json()["servers"][""]["ready"],
                   300, f"{student.name}'s server")
    base = f"{hub.url}/user/{student.name}/"
    home = hub.folder / "home" / student.name
    for notebook in (LESSON, LAB):
        kernel = KernelClient(base, notebook, TOKEN, timeout=120)
        try:
            record = home / "record.jsonl"
            if notebook == LAB:
                kernel.run(SETUP.format(record=str(record)))
            for cell in nbformat.read(home / notebook, as_version=4).cells:
                if cell.cell_type != "code":
                    continue
                seconds, _, error = timed(kernel, cell.source)
                if student.first_cell is None:
                    student.first_cell = time.monotonic() - student.started
                student.cells.append(seconds)
                if cell.source.strip().startswith("check("):
                    student.checks.append(seconds)
                if error and "raises-exception" not in cell.metadata.get("tags", []):
                    student.errors.append(f"{notebook}: {error}")
            if notebook == LAB:
                out = kernel.run(PORTS)[0]
                student.launched = json.loads(out.strip().splitlines()[-1]) if out.strip() else []
                owners = sampler.sample()  # while they still listen: whose processes hold them
                student.cross_talk += [
                    f"port {port} of {student.name}'s servers is held by {', '.join(sorted(names))}"
                    for port in student.launched
                    for names in [owners.get(port, set())] if names and names != {student.name}]
                for line in record.read_text().splitlines() if record.exists() else []:
                    entry = json.loads(line)
                    student.passed += entry["passed"]
                    student.total += entry["total"]
        finally:
            kernel.run(STOP, 60)
            kernel.close()


def percentile(values, share):
    """The nearest-rank percentile: the smallest value that `share` of the values do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else 0.0


def run_class(count, stagger, folder, prefix="s"):
    """Start a hub, let `count` students work, stop it; return the figures of that run."""
    students = [Student(f"{prefix}{number:02d}") for number in range(1, count + 1)]
    for student in students:
        course_copy(folder / "home" / student.name)
    hub = Hub(folder)
    sampler = Sampler(hub, students)
    left, began = [], time.monotonic()
    try:
        assert hub.api_post("users", json={"usernames": [s.name for s in students]}).status_code == 201
        sampler.start()

        def arrive(index):
            time.sleep(index * stagger)  # the class arrives over time: a schedule, not a wait
            try:
                work(hub, students[index], sampler)
            except Exception as error:  # one student's failure is a figure, not the end of the run
                students[index].errors.append(f"{type(error).__name__}: {error}")

        with ThreadPoolExecutor(count) as pool:
            list(pool.map(arrive, range(count)))
        sampler.sample()
    finally:
        sampler.done.set()
        sampler.join()
        left = hub.stop()
    return figures(count, students, sampler.collisions, left, time.monotonic() - began)


def figures(count, students, collisions, left, wall):
    checks = [seconds for s in students for seconds in s.checks]
    worst_median = max((statistics.median(s.checks) for s in students if s.checks), default=0.0)
    cross_talk = [f"{s.name}'s kernel launched a server on port {port}, not held by its own processes"
                  for s in students for port in s.launched if port not in s.listening]
    cross_talk += [problem for s in students for problem in s.cross_talk]
    return {
        "students": count, "wall_seconds": round(wall, 1),
        "first_cell_median": round(statistics.median(
            [s.first_cell for s in students if s.first_cell is not None] or [0]), 2),
        "cell_median": round(statistics.median([c for s in students for c in s.cells] or [0]), 3),
        "check_median_worst_student": round(worst_median, 2),
        "check_p95": round(percentile(checks, 0.95), 2),
        "peak_rss_mib_per_student": round(statistics.mean([s.peak_rss for s in students]) / 2**20),
        "peak_rss_mib_max": round(max(s.peak_rss for s in students) / 2**20),
        "cpu_seconds_per_student": round(statistics.mean([sum(s.cpu.values()) for s in students]), 1),
        "checks_passed": sum(s.passed for s in students), "checks_total": sum(s.total for s in students),
        "errors": [f"{s.name}: {e}" for s in students for e in s.errors],
        "collisions": [f"port {port}: {', '.join(names)}" for port, names in collisions],
        "cross_talk": cross_talk, "left_running": left,
        "within_bounds": worst_median <= MEDIAN_CHECK_BOUND and percentile(checks, 0.95) <= P95_CHECK_BOUND,
    }


COLUMNS = [("students", "N"), ("first_cell_median", "first cell s (median)"),
           ("cell_median", "cell s (median)"), ("check_median_worst_student", "check s (worst median)"),
           ("check_p95", "check s (p95)"), ("peak_rss_mib_per_student", "peak MiB/student"),
           ("cpu_seconds_per_student", "CPU s/student"), ("checks_passed", "checks passed"),
           ("within_bounds", "within bounds")]


def table(rows):
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |",
             "|" + "---|" * len(COLUMNS)]
    for row in rows:
        cells = [f"{row[key]}/{row['checks_total']}" if key == "checks_passed" else str(row[key])
                 for key, _ in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows, path):
    """Check times and memory against N, one SVG (matplotlib's Agg back end, no display)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, (left, right) = pyplot.subplots(1, 2, figsize=(9, 3.5))
    n = [row["students"] for row in rows]
    left.plot(n, [row["check_median_worst_student"] for row in rows], "o-", label="worst median")
    left.plot(n, [row["check_p95"] for row in rows], "s-", label="p95")
    left.axhline(MEDIAN_CHECK_BOUND, linestyle=":", color="grey", label="median bound")
    left.axhline(P95_CHECK_BOUND, linestyle="--", color="grey", label="p95 bound")
    left.set_ylim(bottom=0)
    left.set(xlabel="students", ylabel="check seconds", title="Lab 05 check times")
    left.legend(loc="center right")
    right.plot(n, [row["peak_rss_mib_per_student"] for row in rows], "o-")
    right.set(xlabel="students", ylabel="MiB", title="Peak memory per student")
    peak = max(row["peak_rss_mib_per_student"] for row in rows)
    right.set_ylim(0, max(peak, 1) * 1.25)  # from zero: a flat line must look flat
    figure.tight_layout()
    figure.savefig(path, metadata={"Date": None})
    pyplot.close(figure)


def class_sizes(text):
    """'1,2,4' -> [1, 2, 4]; anything else is refused with a message, not a traceback."""
    try:
        sizes = [int(n) for n in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give class sizes such as 1,2,4")
    return sizes


def main(argv=None):
    parser = argparse.ArgumentParser(prog="course.py capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=class_sizes, default="1,2,4,6,8,12",
                        help="class sizes to try, in order (default 1,2,4,6,8,12)")
    parser.add_argument("--stagger", type=float, default=10,
                        help="seconds between two students' arrivals (default 10)")
    parser.add_argument("--out", default=str(ROOT / "build" / "capacity"),
                        help="where the table and plot go (default build/capacity)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import shutil
    import tempfile
    rows = []
    for count in args.students:
        folder = Path(tempfile.mkdtemp(prefix="cap-"))
        try:
            print(f"{count} student(s), one every {args.stagger:g} s ...", flush=True)
            row = run_class(count, args.stagger, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        rows.append(row)
        print(table([row]).splitlines()[-1], flush=True)
        for problem in row["errors"] + row["collisions"] + row["cross_talk"] + row["left_running"]:
            print("  ", problem, flush=True)
        (out / "capacity.json").write_text(json.dumps(rows, indent=1))
        if not row["within_bounds"]:
            print(f"Stopped: at {count} students a check took too long "
                  f"(worst median > {MEDIAN_CHECK_BOUND:g} s or p95 > {P95_CHECK_BOUND:g} s).")
            break
    fitting = [row["students"] for row in rows if row["within_bounds"]]
    summary = (f"Largest N within the bounds: {max(fitting) if fitting else 'none'} "
               f"(on {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
               f"load average {psutil.getloadavg()[0]:.1f} at the end).")
    (out / "capacity.md").write_text(table(rows) + "\n\n" + summary + "\n")
    plot(rows, out / "capacity.svg")
    print(table(rows), summary, f"Written: {out}/capacity.md, capacity.json, capacity.svg", sep="\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
