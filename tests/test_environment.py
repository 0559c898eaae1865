"""One set of pins for pip and conda, complete and consistent."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pins(path):
    lines = (l.split("#")[0].strip() for l in (ROOT / path).read_text().splitlines())
    return dict(l.lower().split("==") for l in lines if "==" in l)


def test_every_direct_dependency_is_pinned_exactly():
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        assert not line or re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), line


def test_lock_agrees_with_the_direct_pins():
    direct, lock = pins("requirements.in"), pins("requirements.txt")
    disagree = {name: (version, lock.get(name)) for name, version in direct.items()
                if lock.get(name) != version}
    assert not disagree, f"requirements.txt disagrees with requirements.in: {disagree}"


def test_required_packages_are_there():
    needed = {"jupyterlab", "ipykernel", "ipywidgets", "nbval", "pytest", "flask", "fastapi",
              "uvicorn", "aiohttp", "django", "requests", "psutil", "jupyter-server-proxy"}
    assert needed <= set(pins("requirements.in"))


def test_django_is_the_lts_that_runs_on_python_311():
    assert pins("requirements.in")["django"].startswith("5.2.")


def test_conda_environment_uses_the_same_pins_and_python_floor():
    env = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*- -r requirements\.txt$", env, re.M), "environment.yml must install requirements.txt"
    assert re.search(r"^\s*- python=3\.11$", env, re.M)
    assert not re.search(r"==", env), "pins belong in requirements.txt only"
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()
