"""The minutes each notebook states are close to what `course.py minutes` estimates from its contents
(the estimate's rates are fitted to a new student's measured walkthrough; see coursekit/notebooks.py)."""
from pathlib import Path

import nbformat
import pytest

from coursekit.notebooks import estimate_sections

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
TOLERANCE = 0.2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stated_minutes_are_within_a_fifth_of_the_estimate(path):
    notebook = nbformat.read(path, as_version=4)
    info = notebook.metadata.course
    stated = info.teaching + info.exercises
    estimated = sum(minutes for _, minutes in estimate_sections(notebook))
    assert abs(stated - estimated) <= TOLERANCE * estimated, (
        f"{path.name} states {stated} min; its contents suggest about {round(estimated)} "
        "(python3 course.py minutes shows where the time goes)")


def test_the_estimate_grows_with_what_a_student_must_do():
    small = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# T\n\n" + "word " * 120)])
    assert round(sum(m for _, m in estimate_sections(small))) == 1
    small.cells.append(nbformat.v4.new_code_cell('check("1.1")'))
    assert 9 < sum(m for _, m in estimate_sections(small)) < 10
    small.cells.append(nbformat.v4.new_code_cell('question("1.2", "?", right="a", wrong={"b": "c"})'))
    assert 10 < sum(m for _, m in estimate_sections(small)) < 11
