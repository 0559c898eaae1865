"""The rot seen in real course repositories, caught early: names, order, twins, shape, links, images."""
import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from coursekit.notebooks import lesson_name

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXECUTED = LESSONS + SOLUTIONS
ALL = LESSONS + LABS + SOLUTIONS
# JupyterLab titles a tab with the file name, so a lesson, its lab and its solution must differ
# near the start of the name: 03-wsgi-by-hand, 03-lab-wsgi-by-hand, 03-solution-wsgi-by-hand.
NAME = {"notebooks": re.compile(r"^\d\d-(?!lab-|solution-)[a-z0-9]+(-[a-z0-9]+)*\.ipynb$"),
        "labs": re.compile(r"^\d\d-lab-[a-z0-9]+(-[a-z0-9]+)*\.ipynb$"),
        "solutions": re.compile(r"^\d\d-solution-[a-z0-9]+(-[a-z0-9]+)*\.ipynb$")}


def read(path):
    return nbformat.read(path, as_version=4)


def rel(path):
    return str(path.relative_to(ROOT))


def tracked_files():
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / line for line in out.splitlines()]


def test_notebook_names_are_numbered_kebab_case():
    bad = [rel(p) for p in ALL if not NAME[p.parent.name].match(p.name)]
    assert not bad, f"rename to NN-title.ipynb, NN-lab-title.ipynb or NN-solution-title.ipynb: {bad}"


def test_labs_and_solutions_are_twins_of_a_lesson():
    lessons = {p.name for p in LESSONS}
    for twin in LABS + SOLUTIONS:
        lesson = lesson_name(twin.name)
        assert lesson in lessons, f"{rel(twin)} has no lesson notebooks/{lesson}"
    assert sorted(p.name.replace("-lab-", "-solution-", 1) for p in LABS) == [p.name for p in SOLUTIONS]


def test_lessons_are_numbered_in_order_without_gaps():
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert numbers == list(range(len(LESSONS))), f"lesson numbers should run 00, 01, ...: {numbers}"


def test_no_stray_notebooks_or_copies():
    stray = [rel(p) for p in tracked_files() if p.suffix == ".ipynb" and (
        "Untitled" in p.name or re.search(r"(_v\d|-copy|\(\d\))", p.stem)
        or p.parent.name not in ("notebooks", "labs", "solutions"))]
    assert not stray, f"stray notebooks: {stray}"


@pytest.mark.parametrize("path", ALL, ids=rel)
def test_one_h1_and_it_opens_the_notebook(path):
    notebook = read(path)
    h1 = [c for c in notebook.cells if c.cell_type == "markdown"
          for line in c.source.splitlines() if line.startswith("# ")]
    assert len(h1) == 1, f"{rel(path)} has {len(h1)} H1 headings"
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")


@pytest.mark.parametrize("path", ALL, ids=rel)
def test_kernelspec_and_minutes(path):
    metadata = read(path).metadata
    assert metadata.kernelspec.name == "python3"
    course = metadata.get("course", {})
    assert course.get("summary") and course.get("teaching", 0) + course.get("exercises", 0) > 0, (
        "metadata.course needs teaching/exercises minutes and a summary (the course map reads them)")


@pytest.mark.parametrize("path", LESSONS, ids=rel)
def test_lesson_shape(path):
    text = "\n".join(c.source for c in read(path).cells if c.cell_type == "markdown")
    for part in ("**Objectives**", "## Try it", "## Key points"):
        assert part in text, f"{rel(path)} lacks {part}"


@pytest.mark.parametrize("path", EXECUTED + LABS, ids=rel)
def test_last_cell_stops_every_server(path):
    code = [c for c in read(path).cells if c.cell_type == "code"]
    assert code[-1].source.strip() == "stop_all()"


@pytest.mark.parametrize("path", EXECUTED, ids=rel)
def test_stored_executed_in_order(path):
    counts = [c.execution_count for c in read(path).cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{rel(path)} was not run top to bottom in one go: `python3 course.py refresh {rel(path)}`")


def stored_text(path):
    return "\n".join(output.get("text", "") if isinstance(output.get("text", ""), str) else ""
                     for cell in read(path).cells if cell.cell_type == "code"
                     for output in cell.get("outputs", []))


# Where a path of the machine that ran a notebook shows (home folders, temporary folders, the
# course's own folder, an installed package): a stored output holding one differs on every machine.
MACHINE_PATH = re.compile(r"/home/|/Users/|/root/|/tmp/|/var/folders/|[A-Za-z]:\\\\Users|site-packages|"
                          r"/usr/lib/python|/\.venv/")


def machine_paths(notebook, root=ROOT):
    """Each stored output's text that names a path of the machine that ran it (with a little context)."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = "\n".join([str(output.get("text", "")), *output.get("traceback", []),
                              *(str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))])
            hits = [m.start() for m in MACHINE_PATH.finditer(text)]
            if str(root) in text:
                hits.append(text.index(str(root)))
            found += [text[max(0, hit - 40):hit + 60] for hit in hits]
    return found


def test_a_stored_path_of_the_machine_is_found():
    cell = nbformat.v4.new_code_cell("print(Path('apps').resolve())")
    cell.outputs = [nbformat.v4.new_output("stream", text="/home/ada/course/notebooks/apps\n")]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    assert machine_paths(notebook)
    cell.outputs = [nbformat.v4.new_output("stream", text=f"{ROOT / 'notebooks'}\n")]
    assert machine_paths(notebook, ROOT)
    cell.outputs = [nbformat.v4.new_output("stream", text="apps/hello.py: 200 OK\n")]
    assert not machine_paths(notebook)


@pytest.mark.parametrize("path", EXECUTED, ids=rel)
def test_stored_outputs_hold_no_paths_of_the_machine_that_ran_them(path):
    found = machine_paths(read(path))
    assert not found, (f"{rel(path)} stores paths of the machine that ran it; print a path relative to "
                       f"the notebook (or only its name) and refresh: {found[:3]}")


@pytest.mark.parametrize("path", SOLUTIONS, ids=rel)
def test_solutions_are_stored_with_every_check_passing(path):
    """A refresh on a broken or overloaded machine must not store a failing reference run."""
    failing = [line for line in stored_text(path).splitlines() if "checks passed. Change your code" in line]
    assert not failing, f"{rel(path)} is stored with a failing check; refresh it: {failing}"


def test_lesson_00_is_stored_with_a_healthy_doctor():
    """doctor() is lesson 00's first promise: its stored run must say all is well."""
    text = stored_text(ROOT / "notebooks" / "00-welcome.ipynb")
    assert "All good: you are ready for the course." in text and "problem(s) above" not in text, (
        "notebooks/00-welcome.ipynb stores a doctor() run that found problems; refresh it")


@pytest.mark.parametrize("path", ALL, ids=rel)
def test_writefile_cells_ignore_their_changing_output(path):
    for cell in read(path).cells:
        if cell.cell_type == "code" and cell.source.startswith(("%%writefile", "%%file")):
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), (
                f"tag nbval-ignore-output on: {cell.source.splitlines()[0]} (Writing/Overwriting)")


@pytest.mark.parametrize("path", ALL, ids=rel)
def test_servers_bind_loopback_only(path):
    for cell in read(path).cells:
        if cell.cell_type == "code":
            assert "0.0.0.0" not in cell.source, f"{rel(path)}: bind 127.0.0.1, not 0.0.0.0"
            assert not re.search(r"time\.sleep\(\s*[1-9]", cell.source) or "nbval" in str(
                cell.metadata), f"{rel(path)}: wait for readiness, don't sleep whole seconds"


def markdown_links(text):
    return re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)


def local_links():
    """(source file, link target) for every relative link in README and the notebooks."""
    found = [(ROOT / "README.md", link) for link in markdown_links((ROOT / "README.md").read_text())]
    for path in ALL:
        for cell in read(path).cells:
            if cell.cell_type == "markdown":
                found += [(path, link) for link in markdown_links(cell.source)]
    return [(src, link) for src, link in found if not re.match(r"^[a-z]+:", link) and not link.startswith("#")]


def test_every_image_in_img_is_used():
    used = {(src.parent / link).resolve() for src, link in local_links()}
    unused = [rel(p) for p in sorted((ROOT / "img").glob("*")) if p.resolve() not in used]
    assert not unused, f"images nobody shows: {unused}"


def test_readme_lists_every_lesson_and_lab_in_order():
    readme = (ROOT / "README.md").read_text()
    for folder in (LESSONS, LABS):
        positions = [readme.find(f"{p.parent.name}/{p.name}") for p in folder]
        assert -1 not in positions, f"README does not link {[p.name for p, i in zip(folder, positions) if i < 0]}"
        assert positions == sorted(positions), "README lists them out of order"


# Packages, archives and compiled files never belong in the tree: packages come from the locks,
# and what a build makes is git-ignored. Git's own test for a binary file: a NUL byte near the start.
BINARY_SUFFIXES = {".whl", ".egg", ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z",
                   ".rar", ".jar", ".pyc", ".pyo", ".pyd", ".so", ".dll", ".dylib", ".exe", ".o",
                   ".a", ".lib", ".db", ".sqlite", ".sqlite3", ".png", ".jpg", ".jpeg", ".gif", ".pdf"}
LARGEST_FILE = 512 * 1024  # the largest lesson, with its stored figures, is about half of this


def why_not_text(path):
    """Why `path` does not belong in the repository (a binary or a very large file), or None."""
    if any(suffix in BINARY_SUFFIXES for suffix in (path.suffix.lower(), "".join(path.suffixes[-2:]).lower())):
        return f"a {path.suffix} file (packages come from the locks; builds are git-ignored)"
    with open(path, "rb") as file:
        if b"\0" in file.read(8000):
            return "binary content"
    if path.stat().st_size > LARGEST_FILE:
        return f"{path.stat().st_size // 1024} KB, over {LARGEST_FILE // 1024} KB"
    return None


def test_a_binary_or_huge_file_is_named(tmp_path):
    wheel = tmp_path / "pyflakes-4.1.0-py2.py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04")
    blob = tmp_path / "data.bin"
    blob.write_bytes(b"abc\0def")
    big = tmp_path / "big.txt"
    big.write_text("x" * (LARGEST_FILE + 1))
    text = tmp_path / "notes.md"
    text.write_text("plain text, é and all\n")
    assert ".whl file" in why_not_text(wheel) and why_not_text(blob) == "binary content"
    assert "KB" in why_not_text(big) and why_not_text(text) is None


def test_no_binaries_in_the_tree():
    found = {rel(path): why for path in tracked_files() if path.is_file() and (why := why_not_text(path))}
    assert not found, f"remove these from the repository: {found}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^(python3 course\.py test)$", readme, re.M)
    assert command, "README must show the test command on a line of its own"
    ci = (ROOT / ".ci" / "run").read_text()
    assert command.group(1) in ci.splitlines(), ".ci/run must call exactly the README's test command"


def test_course_map_fits_90_columns_and_names_every_notebook():
    from coursekit.notebooks import MAP_WIDTH, course_map_lines

    lines = course_map_lines()
    assert MAP_WIDTH <= 90 and max(map(len, lines)) <= MAP_WIDTH, max(lines, key=len)
    text = "\n".join(lines)
    assert all(p.name in text for p in LESSONS + LABS), "the map leaves out a lesson or lab"


# What the top folder holds: the course's parts and the files that install and test them. A folder
# a notebook wrote at run time (apps/, a database, a log) must never be committed beside them.
TOP_LEVEL = {".ci", ".gitignore", "README.md", "conftest.py", "course.py", "coursekit", "deploy", "environment.yml",
             "img", "labs", "notebooks", "pyproject.toml", "requirements.in", "requirements.txt",
             "requirements-maintainer.in", "requirements-maintainer.txt", "solutions", "tests"}


def test_the_top_folder_holds_only_the_course():
    found = {path.relative_to(ROOT).parts[0] for path in tracked_files()}
    assert not found - TOP_LEVEL, f"not part of the course (remove, or add to .gitignore): {found - TOP_LEVEL}"
