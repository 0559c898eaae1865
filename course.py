#!/usr/bin/env python3
"""Set up and run the course with nothing but Python 3.11+ and git.

    python3 course.py start     # make .venv, install the pinned packages, open JupyterLab
    python3 course.py reset labs/NN   # a fresh copy of lab NN in my-labs/ (your old one is kept)
    python3 course.py update    # git pull the course; lessons you saved are kept in my-labs/ first
    python3 course.py test      # the maintainer set-up, then the whole test suite
    python3 course.py refresh [NOTEBOOK ...]   # re-execute notebooks in place (stored outputs)
    python3 course.py labs      # regenerate labs/ from solutions/
    python3 course.py minutes   # each notebook's stated minutes beside an estimate from its contents
    python3 course.py repeat [RUNS] [PATH ...]  # nbval RUNS times in a row (default 20, lessons 00-04);
                                # --load N: N busy loops compete for the cores; --all: every lesson,
                                # solution and the wrong-answer table
    python3 course.py guide     # instructors: the instructor guide, in build/guide/ (.md and .html)
    python3 course.py slides NN # instructors: lesson NN as offline Reveal.js slides, in build/slides/
    python3 course.py bench     # launch-time and notebook-time benchmark
    python3 course.py grade FOLDER    # instructors: run every student's lab in FOLDER, write grades
    python3 course.py checkpoint labs/NN N.M   # catch up: the reference answers before exercise N.M
    python3 course.py lock [--upgrade]  # maintainers: regenerate both locks from their .in files
    python3 course.py link HUB_URL [--branch B] [--repo R] [--path P]   # instructors: an
                                # nbgitpuller link that pulls the course into each student's home
    python3 course.py capacity [--students 1,2,4] # instructors: students one host carries, measured

`start` installs the student lock (requirements.txt): what the lessons and labs need. `test`,
`refresh`, `repeat`, `bench` and `slides` install the maintainer lock (requirements-maintainer.txt),
which adds the test suite, a test JupyterHub, the browser driver and the slide builder on top.
An environment that has the maintainer lock keeps it: `start` after `test` installs nothing.
Set-up is idempotent: a second run reinstalls nothing unless a lock changed.
You work on the labs in my-labs/: your own copies, made once and never overwritten, which git
ignores, so `git pull` brings course updates without touching your answers.
"""
import argparse
import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
# The two locks, smallest first. Each one holds every pin of the one before it, at the same
# version (tests/test_environment.py), so installing a later lock over an earlier one only adds.
LOCKS = {
    "student": ROOT / "requirements.txt",  # the lessons and labs; also Binder and environment.yml
    "maintainer": ROOT / "requirements-maintainer.txt",  # + tests, test hub, browser, slides
}
LOCK = LOCKS["student"]
# What each command installs before it runs; `reset`, `update` and `lock` need no environment.
# `guide`, `grade` and `checkpoint` serve instructors but import only what the student lock holds.
NEEDS = {
    "start": "student", "labs": "student", "minutes": "student", "guide": "student",
    "grade": "student", "checkpoint": "student",
    "test": "maintainer", "repeat": "maintainer", "bench": "maintainer", "slides": "maintainer",
    "capacity": "maintainer",  # runs the test JupyterHub
    # Stored outputs are made in the environment that compares them (nbval under `test`).
    "refresh": "maintainer",
}
STAMP = VENV / "course-installed.txt"
FIRST_NOTEBOOK = "notebooks/00-welcome.ipynb"
MY_LABS = "my-labs"  # the student's own copies of labs/, git-ignored
MIN_PYTHON = (3, 11)
CONFIRM_SECONDS = 5  # JupyterLab waits 5 s for an answer to "Shut down this Jupyter server?"
STOP_GRACE_SECONDS = 20  # after a second Ctrl+C, JupyterLab's own shutdown gets this long


def venv_python(env=VENV):
    if os.name == "nt":
        return Path(env) / "Scripts" / "python.exe"
    return Path(env) / "bin" / "python"


def run(*args, **kwargs):
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], check=True, **kwargs)


def wanted_stamp(level="student"):
    """The stamp of a .venv installed from the `level` lock: that lock's file name, then a digest
    of it and of every smaller lock (a change to any of them means a new install)."""
    digest = hashlib.sha256()
    for name in list(LOCKS)[:list(LOCKS).index(level) + 1]:
        digest.update(LOCKS[name].read_bytes())
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return f"{LOCKS[level].name} {digest.hexdigest()} python-{python} root-{ROOT}\n"


def installed_level():
    """The lock the .venv was last installed from ("student", "maintainer"), or None."""
    words = STAMP.read_text().split() if STAMP.exists() else []
    for name, path in LOCKS.items():
        if words and words[0] == path.name:
            return name
    return None  # no .venv yet, or one stamped before there were two locks


def pinned(name, lock_file=LOCKS["maintainer"]):
    for line in lock_file.read_text().splitlines():
        if line.lower().startswith(name + "=="):
            return line.strip()
    raise SystemExit(f"{name} is not pinned in {lock_file.name}")


@contextlib.contextmanager
def installer():
    """The Python of a throwaway environment holding pip and uv, which install .venv from outside:
    the tools that build the course environment take no room in it (uv, pip, setuptools: ~60 MB)."""
    with tempfile.TemporaryDirectory(prefix="course-installer-") as scratch:
        venv.EnvBuilder(with_pip=True).create(scratch)
        tool = venv_python(scratch)
        run(tool, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", pinned("uv"))
        yield tool


def compile_bytecode(py):
    """Compile the installed packages once, so that no kernel or server pays for it at start-up,
    not even where PYTHONDONTWRITEBYTECODE is set. Packages' own test suites are left out (~14 MB).
    Like uv's --compile-bytecode, files that do not compile (none are imported) are passed over."""
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    print(f"+ {py} -m compileall (every package in {site}, but not their tests)", flush=True)
    subprocess.run([str(py), "-m", "compileall", "-qq", "-j", "0", "-x", r"[/\\]tests[/\\]", site])


def setup(need="student"):
    """Create .venv with the locked packages and the course kernel; skip what is already done.

    `need` names the smallest lock the command needs. A .venv that has a bigger lock keeps it
    (a student who ran `test` once does not lose the test packages on the next `start`), and
    is brought up to date with that bigger lock when either lock changes.
    """
    if sys.version_info < MIN_PYTHON:
        raise SystemExit(f"This course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    order = list(LOCKS)
    level = max(need, installed_level() or need, key=order.index)
    if STAMP.exists() and STAMP.read_text() == wanted_stamp(level):
        return
    lock_file = LOCKS[level]
    if not venv_python().exists():
        print(f"Creating the virtual environment in {VENV.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=False).create(VENV)  # pip and uv stay outside it: installer()
    py = venv_python()
    with installer() as tool:
        # uv installs the ~150 locked packages in seconds; pip is the fallback if uv fails.
        try:
            # editable_mode=compat puts a plain path in a .pth file: no import hook that every
            # Python process (kernels, servers) would pay for at start-up.
            run(tool, "-m", "uv", "pip", "install", "--quiet", "--python", py, "--no-deps",
                "-r", lock_file, "-e", ROOT, "-C", "editable_mode=compat")
        except subprocess.CalledProcessError:
            print("uv failed; installing with pip instead (slower).", flush=True)
            run(tool, "-m", "pip", "--python", py, "install", "--quiet", "--disable-pip-version-check",
                "--no-deps", "--no-compile", "-r", lock_file, "-e", ROOT,
                "--config-settings", "editable_mode=compat")
    compile_bytecode(py)
    run(py, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3",
        "--display-name", "Python 3 (web course)")
    STAMP.write_text(wanted_stamp(level))


# Written at the top of each lock. lark and rfc3987-syntax come with an optional extra of
# jsonschema that adds ~2 s to every process importing nbformat (README, "For maintainers").
LEFT_OUT = ("lark==", "rfc3987-syntax==")
LOCK_HEADER = """\
# Full {level} lock, generated from {source} by 'python3 course.py lock'. Do not edit by hand.
# Installed with --no-deps, so this list is complete.{note}
# rfc3987-syntax and lark are left out on purpose: an optional extra of jsonschema that adds ~2 s
# to every process importing nbformat (see the maintainer notes in README.md).
"""


def compile_lock(tool, level, source, upgrade, *extra):
    """Resolve `source` for every platform and write the `level` lock, sorted, with its header."""
    target = LOCKS[level]
    with tempfile.TemporaryDirectory() as scratch:
        # uv keeps the versions already in the output file where it can; --upgrade drops them.
        out = Path(scratch) / target.name
        if target.exists() and not upgrade:
            shutil.copy2(target, out)
        subprocess.run(
            [str(tool), "-m", "uv", "pip", "compile", "--quiet", "--no-header",
             "--no-annotate", "--python-version", "3.11",
             # One lock for Linux, macOS and Windows: platform-only packages carry markers (pywinpty
             # on Windows, appnope on macOS), and "fewest" keeps one version of each package for
             # every Python from 3.11 on rather than forking per Python version.
             "--universal", "--fork-strategy", "fewest", *(["--upgrade"] if upgrade else []),
             *extra, "-o", str(out), str(source)], check=True)
        lines = [l for l in out.read_text().splitlines()
                 if l and not l.startswith("#") and not l.startswith(LEFT_OUT)]
    note = ("" if level == "student" else
            "\n# Every pin of requirements.txt is here at the same version (compiled with it as constraints).")
    header = LOCK_HEADER.format(level=level, source=source.name, note=note)
    target.write_text(header + "\n".join(sorted(lines, key=str.lower)) + "\n")


def lock(upgrade=False):
    """Regenerate both locks from their .in files (maintainers only): the student lock first,
    then the maintainer lock constrained to it, so the two agree on every package they share."""
    if sys.version_info < MIN_PYTHON:
        raise SystemExit(f"This course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    with installer() as tool:
        compile_lock(tool, "student", ROOT / "requirements.in", upgrade)
        compile_lock(tool, "maintainer", ROOT / "requirements-maintainer.in", upgrade,
                     "--constraint", str(LOCKS["student"]))


def copy_labs(root=ROOT):
    """Give the student a copy of every lab they do not have yet; never overwrite one."""
    mine = root / MY_LABS
    mine.mkdir(exist_ok=True)
    made = []
    for lab in sorted((root / "labs").glob("*.ipynb")):
        # Labs were once named like their lessons (04-asgi-by-hand.ipynb); a copy made then is
        # renamed, not duplicated, so the student keeps working in the one they started.
        old = mine / lab.name.replace("-lab-", "-", 1)
        if old != mine / lab.name and old.exists() and not (mine / lab.name).exists():
            old.rename(mine / lab.name)
            print(f"{old.relative_to(root)} is now {(mine / lab.name).relative_to(root)}")
        if not (mine / lab.name).exists():
            shutil.copy2(lab, mine / lab.name)
            made.append(mine / lab.name)
    return made


def reset(name, root=ROOT):
    """Replace the student's copy of one lab with a fresh one; keep the old copy beside it."""
    wanted = Path(name).name.removesuffix(".ipynb")
    labs = sorted((root / "labs").glob("*.ipynb"))
    found = [lab for lab in labs if lab.stem == wanted or lab.stem.split("-")[0] == wanted]
    if len(found) != 1:
        names = ", ".join(f"labs/{lab.stem.split('-')[0]}" for lab in labs)
        raise SystemExit(f"There is no lab {name!r}. Name one of: {names} (e.g. reset labs/04).")
    lab = found[0]
    mine = root / MY_LABS / lab.name
    mine.parent.mkdir(exist_ok=True)
    if mine.exists():
        kept = mine.with_name(f"{lab.stem}.before-reset-{time.strftime('%Y%m%d-%H%M%S')}.ipynb")
        n = 1
        while kept.exists():
            n += 1
            kept = kept.with_name(f"{lab.stem}.before-reset-{time.strftime('%Y%m%d-%H%M%S')}-{n}.ipynb")
        mine.rename(kept)
        print(f"Your previous work is kept in {kept.relative_to(root)}")
    shutil.copy2(lab, mine)
    print(f"{mine.relative_to(root)} is a fresh copy of {lab.relative_to(root)}")
    return mine


def update(root=ROOT):
    """Pull the course with git. Course files the student changed (a lesson JupyterLab saved with
    its outputs, say) are copied to my-labs/saved-DATE/ and restored, so the pull cannot fail."""
    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    changed = [name for name in git("diff", "--name-only", "-z", "HEAD").stdout.split("\0") if name]
    if changed:
        saved = root / MY_LABS / f"saved-{time.strftime('%Y%m%d-%H%M%S')}"
        for name in changed:
            if (root / name).is_file():
                (saved / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / name, saved / name)
        git("checkout", "--", *changed)
        print(f"Your changes to {len(changed)} course file(s) are kept in {saved.relative_to(root)}/")
    pulled = git("pull", "--ff-only")
    print((pulled.stdout + pulled.stderr).strip())
    return pulled.returncode


def nbgitpuller_link(hub_url, repo, branch="main", path=FIRST_NOTEBOOK):
    """A link that makes nbgitpuller pull `repo` at `branch` into the student's home (a folder
    named after the repository), then opens `path` from it in JupyterLab. Every value is
    percent-encoded whole, so '&', '#', '?', '/' or spaces in a name cannot split the query."""
    parts = urlsplit(hub_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{hub_url!r} is not a hub address; give one like https://hub.example.org")
    for what, value in (("repository", repo), ("branch", branch), ("path", path)):
        if not value or not value.strip():
            raise ValueError(f"the {what} is empty")
    where = urlsplit(repo).path if "://" in repo else repo  # not the query of an https address
    folder = where.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git")
    query = {"repo": repo, "branch": branch, "urlpath": f"lab/tree/{folder}/{path.lstrip('/')}"}
    return hub_url.rstrip("/") + "/hub/user-redirect/git-pull?" + "&".join(
        f"{name}={quote(value, safe='')}" for name, value in query.items())


def origin_url(root=ROOT):
    """This clone's `origin` as an https address (nbgitpuller pulls anonymously), or None."""
    found = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"],
                           capture_output=True, text=True)
    url = found.stdout.strip()
    if found.returncode or not url:
        return None
    if url.startswith("git@") and ":" in url:  # git@github.com:owner/repo.git
        host, _, name = url[len("git@"):].partition(":")
        url = f"https://{host}/{name}"
    return url


def link(args):
    """`course.py link`: print the nbgitpuller link for a hub; 0 when printed, 2 on bad input."""
    parser = argparse.ArgumentParser(prog="course.py link", description=(
        "Print a link that pulls the course into a student's home on a JupyterHub (nbgitpuller) "
        "and opens the first lesson."))
    parser.add_argument("hub_url", help="the hub's address, e.g. https://hub.example.org")
    parser.add_argument("--branch", default="main", help="the branch to pull (default main)")
    parser.add_argument("--repo", help="the course's git address (default: this clone's origin)")
    parser.add_argument("--path", default=FIRST_NOTEBOOK,
                        help=f"what to open, inside the course (default {FIRST_NOTEBOOK})")
    options = parser.parse_args(args)
    repo = options.repo or origin_url()
    if not repo:
        print("This clone has no 'origin' remote: name the course's repository with --repo URL.")
        return 2
    try:
        print(nbgitpuller_link(options.hub_url, repo, options.branch, options.path))
    except ValueError as error:
        print(f"course.py link: {error}.")
        return 2
    return 0


def terminal_sends_ctrl_c():
    """Does a Ctrl+C typed in our terminal reach JupyterLab as well as us (same foreground group)?"""
    if os.name == "nt":
        return True  # Windows sends Ctrl+C to every process attached to the console
    try:
        return os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp()
    except OSError:
        return False


def end_now(process):
    """Stop JupyterLab at once (its kernels then exit, and their servers with them)."""
    if process.poll() is not None:
        return
    if os.name == "nt":
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(process.pid)], capture_output=True)
    else:
        process.kill()
    process.wait()


def serve(command):
    """Run JupyterLab until it exits, letting it handle Ctrl+C in its own way.

    The first Ctrl+C makes JupyterLab ask whether to shut down (it resumes after 5 s without an
    answer); a second one within those 5 s makes it shut down cleanly. If it is still running
    20 s later, or a third Ctrl+C comes, it is ended at once. The course adds no traceback.
    """
    presses, process = [], None

    def on_ctrl_c(signum, frame):
        now = time.monotonic()
        if presses and now - presses[0] > CONFIRM_SECONDS:
            presses.clear()  # JupyterLab has stopped asking: this is a first Ctrl+C again
        presses.append(now)
        if process is not None and process.poll() is None and not terminal_sends_ctrl_c():
            process.send_signal(signal.SIGINT)  # only we got it (kill -INT, no terminal): pass it on
        if len(presses) == 2:
            print("\nStopping JupyterLab (press Ctrl+C again to stop it at once).", flush=True)

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        process = subprocess.Popen(command, cwd=ROOT)
        while True:
            try:
                return process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
            stopping_for = time.monotonic() - presses[1] if len(presses) >= 2 else 0
            if len(presses) >= 3 or stopping_for > STOP_GRACE_SECONDS:
                print("Stopping JupyterLab now.", flush=True)
                end_now(process)
                return 1
    finally:
        if process is not None:
            end_now(process)  # whatever happened above, JupyterLab does not outlive the course
        signal.signal(signal.SIGINT, previous)


def in_venv(*args):
    """Run a command with the course environment's Python and return its exit code."""
    env = dict(os.environ, IPYKERNEL_CELL_NAME="<IPY-INPUT>")
    return subprocess.call([str(venv_python()), *args], cwd=ROOT, env=env)


def main(argv):
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    if command not in NEEDS and command not in ("reset", "update", "lock", "link"):
        print(f"Unknown command {command!r}.\n{__doc__}")
        return 2
    if command == "reset":  # plain file copies: no set-up needed
        if len(rest) != 1:
            print("Name one lab to reset, e.g.: python3 course.py reset labs/04")
            return 2
        reset(rest[0])
        return 0
    if command == "update":
        return update()
    if command == "link":  # string work only: no set-up needed
        return link(rest)
    if command == "lock":
        if rest not in ([], ["--upgrade"]):
            print("Usage: python3 course.py lock [--upgrade]")
            return 2
        lock(upgrade=bool(rest))
        return 0
    setup(NEEDS[command])
    if command == "start":
        for made in copy_labs():
            print(f"New lab for you: {made.relative_to(ROOT)}", flush=True)
        print(f"Work on the labs in {MY_LABS}/ (your own copies; git pull never changes them).",
              flush=True)
        lab = VENV / ("Scripts" if os.name == "nt" else "bin") / "jupyter-lab"
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
            rest = ["--allow-root", *rest]
        # The whole course folder is the root (lessons, labs and solutions all visible), and
        # the browser opens on the first lesson.
        return serve([str(lab), f"--ServerApp.root_dir={ROOT}",
                      f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}", *rest])
    if command == "test":
        return in_venv("-m", "pytest", *rest)
    if command == "refresh":
        return in_venv("-m", "coursekit.notebooks", "refresh", *rest)
    if command in ("labs", "minutes", "repeat"):
        return in_venv("-m", "coursekit.notebooks", command, *rest)
    if command in ("grade", "checkpoint"):  # paths are the caller's; in_venv runs in ROOT
        rest = [str(Path(a).resolve()) if Path(a).exists() else a for a in rest]
        return in_venv("-m", f"coursekit.{'grading' if command == 'grade' else 'checkpoints'}", *rest)
    if command in ("guide", "slides"):
        return in_venv("-m", f"coursekit.{command}", *rest)
    if command == "capacity":
        return in_venv("tests/capacity.py", *rest)
    return in_venv("tests/benchmark.py", *rest)  # bench


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # during set-up: say so in one line, not with a traceback
        print("\nInterrupted.", file=sys.stderr)
        sys.exit(130)
