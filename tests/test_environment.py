"""One set of pins for pip and conda, complete and consistent on Linux, macOS and Windows."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.markers import Marker

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = {"lark", "rfc3987-syntax"}  # on purpose: see README's maintainer notes
# What `packaging` needs to evaluate the lock's markers as uv does for each target (Python 3.11).
PLATFORMS = {
    "x86_64-unknown-linux-gnu": {"sys_platform": "linux", "os_name": "posix",
                                 "platform_system": "Linux", "platform_machine": "x86_64"},
    "x86_64-pc-windows-msvc": {"sys_platform": "win32", "os_name": "nt",
                               "platform_system": "Windows", "platform_machine": "AMD64"},
    "aarch64-apple-darwin": {"sys_platform": "darwin", "os_name": "posix",
                             "platform_system": "Darwin", "platform_machine": "arm64"},
    "x86_64-apple-darwin": {"sys_platform": "darwin", "os_name": "posix",
                            "platform_system": "Darwin", "platform_machine": "x86_64"},
}


def requirements(path):
    """(name, version, marker or None) for every pinned line of a requirements file."""
    found = []
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            pin, _, marker = line.partition(";")
            name, version = pin.strip().lower().split("==")
            found.append((name, version, Marker(marker) if marker.strip() else None))
    return found


def pins(path):
    return {name: version for name, version, _ in requirements(path)}


def locked_for(platform):
    """The name==version pins of the lock that apply on `platform` with CPython 3.11."""
    env = dict(PLATFORMS[platform], python_version="3.11", python_full_version="3.11.9",
               implementation_name="cpython", platform_python_implementation="CPython")
    return {f"{name}=={version}" for name, version, marker in requirements("requirements.txt")
            if marker is None or marker.evaluate(env)}


def test_every_direct_dependency_is_pinned_exactly():
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        assert not line or re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), line


def test_lock_agrees_with_the_direct_pins():
    direct, lock = pins("requirements.in"), pins("requirements.txt")
    disagree = {name: (version, lock.get(name)) for name, version in direct.items()
                if lock.get(name) != version}
    assert not disagree, f"requirements.txt disagrees with requirements.in: {disagree}"


def test_the_lock_holds_one_version_of_each_package():
    names = [name for name, _, _ in requirements("requirements.txt")]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


def test_platform_only_packages_are_locked_with_their_markers():
    """A laptop installs the lock with --no-deps: what only Windows or macOS needs must be in it."""
    assert "pywinpty==3.1.2" in locked_for("x86_64-pc-windows-msvc")  # JupyterLab's terminals
    assert any(p.startswith("colorama==") for p in locked_for("x86_64-pc-windows-msvc"))
    assert any(p.startswith("appnope==") for p in locked_for("aarch64-apple-darwin"))
    linux = {p.split("==")[0] for p in locked_for("x86_64-unknown-linux-gnu")}
    assert not linux & {"pywinpty", "colorama", "appnope"}, "Windows/macOS packages leak onto Linux"
    assert "pexpect" in linux


def dry_run(platform, target):
    """uv's plan for installing the lock (with dependencies) on `platform`: its `+ name==version` lines.

    uv answers from its cache when it can; otherwise it reads the package index (PyPI), which CI
    and the course's machines reach. Nothing is downloaded or installed.
    """
    command = [sys.executable, "-m", "uv", "pip", "install", "--dry-run", "--python-platform",
               platform, "--python-version", "3.11", "--target", str(target),
               "-r", str(ROOT / "requirements.txt")]
    done = subprocess.run([*command, "--offline"], capture_output=True, text=True, timeout=120)
    if done.returncode and "network was disabled" in done.stderr:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"uv cannot install the lock on {platform}:\n{done.stderr[-3000:]}"
    return {line.split()[1] for line in done.stderr.splitlines() if line.startswith(" + ")}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_the_lock_resolves_complete_on(platform, tmp_path):
    """Resolving the lock WITH dependencies on each platform adds nothing but the deliberate omission."""
    planned = dry_run(platform, tmp_path / "target")
    locked = locked_for(platform)
    assert {p.split("==")[0] for p in planned - locked} == LEFT_OUT, "lock incomplete or stale here"
    assert locked - planned == set(), "locked packages that the platform cannot install"


def test_conda_environment_uses_the_same_pins_and_python_floor():
    env = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*- -r requirements\.txt$", env, re.M), "environment.yml must install requirements.txt"
    assert re.search(r"^\s*- python=3\.11$", env, re.M)
    assert not re.search(r"==", env), "pins belong in requirements.txt only"
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()
