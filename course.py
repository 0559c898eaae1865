#!/usr/bin/env python3
"""Set up and run the course with nothing but Python 3.11+ and git.

    python3 course.py start     # make .venv, install the pinned packages, open JupyterLab
    python3 course.py test      # the same set-up, then the whole test suite
    python3 course.py refresh [NOTEBOOK ...]   # re-execute notebooks in place (stored outputs)
    python3 course.py labs      # regenerate labs/ from solutions/
    python3 course.py bench     # launch-time and notebook-time benchmark
    python3 course.py lock      # maintainers: regenerate requirements.txt from requirements.in

Set-up is idempotent: a second run reinstalls nothing unless requirements.txt changed.
"""
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.txt"
STAMP = VENV / "course-installed.txt"
FIRST_NOTEBOOK = "notebooks/00-welcome.ipynb"
MIN_PYTHON = (3, 11)


def venv_python():
    if os.name == "nt":
        return VENV / "Scripts" / "python.exe"
    return VENV / "bin" / "python"


def run(*args, **kwargs):
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run([str(a) for a in args], check=True, **kwargs)


def wanted_stamp():
    digest = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    return f"{digest} python-{sys.version_info[0]}.{sys.version_info[1]} root-{ROOT}\n"


def pinned(name):
    for line in LOCK.read_text().splitlines():
        if line.lower().startswith(name + "=="):
            return line.strip()
    raise SystemExit(f"{name} is not pinned in {LOCK.name}")


def setup():
    """Create .venv with the locked packages and the course kernel; skip what is already done."""
    if sys.version_info < MIN_PYTHON:
        raise SystemExit(f"This course needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    if STAMP.exists() and STAMP.read_text() == wanted_stamp():
        return
    if not venv_python().exists():
        print(f"Creating the virtual environment in {VENV.name}/ ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    py = venv_python()
    # uv installs the ~140 locked packages in seconds; pip is the fallback if uv cannot be had.
    try:
        run(py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", pinned("uv"))
        # editable_mode=compat puts a plain path in a .pth file: no import hook that every
        # Python process (kernels, servers) would pay for at start-up.
        run(py, "-m", "uv", "pip", "install", "--quiet", "--python", py, "--no-deps",
            "--compile-bytecode", "-r", LOCK, "-e", ROOT, "-C", "editable_mode=compat")
    except subprocess.CalledProcessError:
        print("uv failed; installing with pip instead (slower).", flush=True)
        run(py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
            "-r", LOCK, "-e", ROOT, "--config-settings", "editable_mode=compat")
    run(py, "-m", "ipykernel", "install", "--sys-prefix", "--name", "python3",
        "--display-name", "Python 3 (web course)")
    STAMP.write_text(wanted_stamp())


def lock():
    """Regenerate the full lock from requirements.in (maintainers only)."""
    setup()
    out = subprocess.run(
        [str(venv_python()), "-m", "uv", "pip", "compile", "--quiet", "--no-header",
         "--no-annotate", "--python-version", "3.11",
         # One lock for Linux, macOS and Windows: platform-only packages carry markers (pywinpty
         # on Windows, appnope on macOS), and "fewest" keeps one version of each package for
         # every Python from 3.11 on rather than forking per Python version.
         "--universal", "--fork-strategy", "fewest", str(ROOT / "requirements.in")],
        check=True, capture_output=True, text=True).stdout
    header = LOCK.read_text().split("\n")[:4]
    skipped = ("lark==", "rfc3987-syntax==")
    lines = sorted((l for l in out.splitlines() if l and not l.startswith(skipped)), key=str.lower)
    LOCK.write_text("\n".join(header + lines) + "\n")


def in_venv(*args):
    """Run a command with the course environment's Python and return its exit code."""
    env = dict(os.environ, IPYKERNEL_CELL_NAME="<IPY-INPUT>")
    return subprocess.call([str(venv_python()), *args], cwd=ROOT, env=env)


def main(argv):
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    if command not in ("start", "test", "refresh", "labs", "bench", "lock"):
        print(f"Unknown command {command!r}.\n{__doc__}")
        return 2
    setup()
    if command == "start":
        lab = VENV / ("Scripts" if os.name == "nt" else "bin") / "jupyter-lab"
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root
            rest = ["--allow-root", *rest]
        # The whole course folder is the root (lessons, labs and solutions all visible), and
        # the browser opens on the first lesson.
        return subprocess.call([str(lab), f"--ServerApp.root_dir={ROOT}",
                                f"--LabApp.default_url=/lab/tree/{FIRST_NOTEBOOK}", *rest], cwd=ROOT)
    if command == "test":
        return in_venv("-m", "pytest", *rest)
    if command == "refresh":
        return in_venv("-m", "coursekit.notebooks", "refresh", *rest)
    if command == "labs":
        return in_venv("-m", "coursekit.notebooks", "labs", *rest)
    if command == "bench":
        return in_venv("tests/benchmark.py", *rest)
    lock()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
