"""Every lab exercise's checks fail on the untouched starter and pass on the solution.

Both twins are executed top to bottom in a real kernel; check() appends each result to a record
file (COURSEKIT_CHECK_RECORD), which the assertions read. The solution runs as on JupyterHub
(JUPYTERHUB_SERVICE_PREFIX set), where every server builds its links with a proxy prefix; nbval
runs the same solution without one, and its stored outputs show every check passing.
"""
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import IPCKernelManager
from coursekit.notebooks import MarkerError, lab_from_solution, lab_name, starter_source
from coursekit.urls import proxied

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
CHECK_CALL = re.compile(r"""check\(\s*["'](\d+\.\d+)["']""")
HUB_PREFIX = "/user/student/"  # JupyterHub sets this in every single-user server


def exercises_in(notebook):
    return [n for cell in notebook.cells if cell.cell_type == "code"
            for n in CHECK_CALL.findall(cell.source)]


def run_and_record(path, tmp_path, monkeypatch):
    """Execute a notebook (a cell error fails the test) and return {exercise: (passed, total, report)}.

    It runs in a folder of its own, as a student's copy would: nbval may be running the same
    notebook in the course folder at this moment, and the two must not share apps/ or databases."""
    record = tmp_path / f"{path.parent.name}-record.jsonl"
    monkeypatch.setenv("COURSEKIT_CHECK_RECORD", str(record))
    folder = tmp_path / path.parent.name
    folder.mkdir(exist_ok=True)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", kernel_manager_class=IPCKernelManager,
                   resources={"metadata": {"path": str(folder)}}).execute()
    results = {}
    for line in record.read_text().splitlines() if record.exists() else []:
        entry = json.loads(line)
        results[entry["exercise"]] = (entry["passed"], entry["total"], entry["report"])
    return results


@pytest.mark.servers
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_checks_fail_on_starter_and_pass_on_solution(solution, tmp_path, monkeypatch):
    lab = ROOT / "labs" / lab_name(solution.name)
    expected = exercises_in(nbformat.read(solution, as_version=4))
    assert expected, f"{solution.name} calls no check()"

    with monkeypatch.context() as on_a_hub:
        on_a_hub.setenv("JUPYTERHUB_SERVICE_PREFIX", HUB_PREFIX)
        assert proxied()[0], proxied()[1]  # servers really get a prefix (jupyter-server-proxy is here)
        solved = run_and_record(solution, tmp_path, on_a_hub)
    starter = run_and_record(lab, tmp_path, monkeypatch)

    short = [f"exercise {number}: the solution passes {passed} of {total}; its check said:\n{report}"
             for number in expected for passed, total, report in [solved[number]]
             if not (total > 0 and passed == total)]
    assert not short, (f"With JUPYTERHUB_SERVICE_PREFIX={HUB_PREFIX} (as on JupyterHub):\n"
                       + "\n".join(short))
    for number in expected:
        passed, total, report = starter[number]
        assert passed < total, (
            f"exercise {number}: the untouched starter passes all {total} checks; its check said:\n{report}")


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_lab_is_generated_from_its_solution(solution):
    """labs/ holds exactly what `python3 course.py labs` makes from solutions/ (one source of truth)."""
    lab = ROOT / "labs" / lab_name(solution.name)
    assert lab.exists(), f"labs/{lab.name} is missing: run `python3 course.py labs`"
    generated = lab_from_solution(nbformat.read(solution, as_version=4))
    stored = nbformat.read(lab, as_version=4)
    assert [c.source for c in stored.cells] == [c.source for c in generated.cells], (
        f"labs/{lab.name} is stale: run `python3 course.py labs`")
    assert all(not c.get("outputs") for c in stored.cells), "labs are stored without outputs"


def test_a_whole_function_body_becomes_a_stub_that_raises():
    source = ("def f(x):\n    \"\"\"Double x.\"\"\"\n    # BEGIN SOLUTION\n    return x * 2\n"
              "    # END SOLUTION\n\n\nanswer = 42  # SOLUTION\n")
    assert starter_source(source) == ('def f(x):\n    """Double x."""\n'
                                      '    raise NotImplementedError("f() is not written yet")\n'
                                      "\n\nanswer = ...\n")


def test_a_block_among_other_statements_becomes_ellipsis():
    source = ("async def route(path):\n    # BEGIN SOLUTION\n    if path == '/':\n        return 1\n"
              "    # END SOLUTION\n    return None\n")
    assert starter_source(source) == "async def route(path):\n    ...\n    return None\n"
    inside_if = "def f(x):\n    if x:\n        # BEGIN SOLUTION\n        x = 1\n        # END SOLUTION\n"
    assert starter_source(inside_if) == "def f(x):\n    if x:\n        ...\n"


@pytest.mark.parametrize("source, words", [
    ("def f():\n    # BEGIN SOLUTION\n    return 42\n", "line 2 has no '# END SOLUTION'"),
    ("# BEGIN SOLUTION\nx = 1\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION\n", "line 1 has no"),
    ("x = 1\n# END SOLUTION\n", "line 2 has no '# BEGIN SOLUTION' before it"),
    ("print(42)  # SOLUTION\n", "line 1 is marked '# SOLUTION' but is not an assignment"),
], ids=["no end", "begin twice", "end alone", "solution line not an assignment"])
def test_malformed_markers_raise_naming_notebook_and_cell(source, words):
    solution = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lab"),
                                               nbformat.v4.new_code_cell(source)])
    with pytest.raises(MarkerError) as raised:
        lab_from_solution(solution, "solutions/99-x.ipynb")
    assert "solutions/99-x.ipynb, cell 1" in str(raised.value) and words in str(raised.value)


def solution_lines(notebook):
    """The answer lines of a solution (inside its markers), as compared: spaces and quotes evened."""
    lines, inside = set(), False
    for cell in notebook.cells:
        for line in cell.source.splitlines() if cell.cell_type == "code" else []:
            stripped = line.strip()
            if stripped in ("# BEGIN SOLUTION", "# END SOLUTION"):
                inside = stripped == "# BEGIN SOLUTION"
            elif (inside or stripped.endswith("# SOLUTION")) and len(stripped) >= 16:
                lines.add(even(stripped.removesuffix("# SOLUTION").strip()))
    return lines


def even(text):
    return re.sub(r"\s+", " ", text.replace('"', "'"))


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_no_check_text_pastes_a_line_of_the_solution(solution):
    """Lesson 00 promises that a check never shows the solution: no string in a lab's check module
    (its hints, expectations and messages) holds an answer line of the solution."""
    import ast

    number = solution.name[:2]
    module = ROOT / "coursekit" / "labs" / f"lab{number}.py"
    texts = [even(node.value) for node in ast.walk(ast.parse(module.read_text()))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    texts += [even(node.values[0].value) for node in ast.walk(ast.parse(module.read_text()))
              if isinstance(node, ast.JoinedStr) and node.values
              and isinstance(node.values[0], ast.Constant)]
    answers = solution_lines(nbformat.read(solution, as_version=4))
    assert answers, f"{solution.name} has no answer lines"
    pasted = sorted(line for line in answers if any(line in text for text in texts))
    assert not pasted, f"coursekit/labs/lab{number}.py shows answer lines: {pasted}"
