"""Benchmark (not a test): launch-to-first-response per server kind against its bare import, and
how long each notebook takes under nbval. Run: `python3 course.py bench [--rounds N] [--no-notebooks]`.

Every figure comes from this one run, side by side, so the ratios hold on a noisy shared machine.
"""
import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coursekit.servers import launch  # noqa: E402

# kind label, sample file in tests/apps, launch kind, the import that is that server's floor
KINDS = [
    ("socket server", "raw_socket.py", "script", "import socket"),
    ("WSGI on wsgiref", "hello_wsgi.py", "wsgiref", "import wsgiref.simple_server"),
    ("WSGI on gunicorn", "hello_wsgi.py", "gunicorn", "import gunicorn.app.wsgiapp"),
    ("ASGI on uvicorn", "hello_asgi.py", "uvicorn", "import uvicorn.main"),
    ("Flask", "hello_flask.py", "flask", "import flask"),
    ("FastAPI on uvicorn", "hello_fastapi.py", "uvicorn", "import fastapi, uvicorn.main"),
    ("aiohttp", "hello_aiohttp.py", "aiohttp", "import aiohttp.web"),
    ("Django runserver", "djangosite/manage.py", "django",
     "import django.core.management.commands.runserver"),
]


def bare_import(statement):
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True)
    return time.perf_counter() - started


def launch_to_first_response(path, kind):
    started = time.perf_counter()
    server = launch(path, kind, quiet=True)
    status = server.get("/").status_code
    elapsed = time.perf_counter() - started
    server.stop()
    assert status == 200, f"{path.name} answered {status}"
    return elapsed


def bench_launches(rounds):
    work = Path(tempfile.mkdtemp(prefix="coursekit-bench-"))
    shutil.copytree(ROOT / "tests" / "apps", work / "apps")
    launch(work / "apps" / "hello_wsgi.py", "wsgiref", quiet=True).stop()  # start the watchdog once
    rows = []
    for label, file, kind, floor_import in KINDS:
        floors, launches = [], []
        for _ in range(rounds):  # interleaved, so both see the same machine load
            floors.append(bare_import(floor_import))
            launches.append(launch_to_first_response(work / "apps" / file, kind))
        rows.append((label, statistics.median(launches), statistics.median(floors)))
    shutil.rmtree(work)
    print(f"\nLaunch to first response, median of {rounds} (floor: a fresh `python -c` of the import)")
    print(f"| {'server':<20} | launch ms | floor ms | ratio |")
    print(f"|{'-' * 22}|-----------|----------|-------|")
    for label, launched, floor in rows:
        print(f"| {label:<20} | {launched * 1000:9.0f} | {floor * 1000:8.0f} | {launched / floor:5.2f} |")


def bench_notebooks():
    report = Path(tempfile.mkdtemp(prefix="coursekit-bench-")) / "junit.xml"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-o", "addopts=",
                    "--nbval", "--nbval-current-env", "--nbval-sanitize-with=tests/sanitize.cfg",
                    f"--junitxml={report}", "notebooks", "solutions", "tests/test_labs.py"],
                   cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    per_file, slowest = {}, {}
    for case in ET.parse(report).iter("testcase"):
        name = case.get("classname", "") or case.get("file", "")
        seconds = float(case.get("time", 0))
        per_file[name] = per_file.get(name, 0) + seconds
        if seconds > slowest.get(name, ("", 0))[1]:
            slowest[name] = (case.get("name"), seconds)
    print(f"\nNotebooks under the test suite (one worker), {wall:.1f} s wall in all")
    print(f"| {'notebook or test':<48} | seconds | slowest item |")
    print(f"|{'-' * 50}|---------|--------------|")
    for name, seconds in sorted(per_file.items()):
        item, item_seconds = slowest[name]
        print(f"| {name[-48:]:<48} | {seconds:7.1f} | {item[-30:]} ({item_seconds:.1f} s) |")
    print(f"Time inside test items: {sum(per_file.values()):.1f} s of {wall:.1f} s "
          "(the rest is pytest start-up and kernel start/stop).")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--no-notebooks", action="store_true")
    args = parser.parse_args()
    bench_launches(args.rounds)
    if not args.no_notebooks:
        bench_notebooks()


if __name__ == "__main__":
    main()
