"""Every link a student can click in a notebook or the README leads somewhere, and the path through
the course is linked end to end: lesson -> its lab -> the next lesson."""
import re
from pathlib import Path

import nbformat
import pytest

from coursekit.notebooks import lab_of_lesson

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LABS = sorted((ROOT / "labs").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LINK = re.compile(r"\]\(([^)\s]+)\)")


def links(text):
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def resolves(folder, target):
    """Does a relative link from `folder` lead to a file? my-labs/ holds copies of labs/ made by
    `course.py start`, so a link into it must name a lab that exists."""
    path = (folder / target.split("#")[0]).resolve()
    if path.parent == (ROOT / "my-labs").resolve():
        path = ROOT / "labs" / path.name
    return path.exists()


@pytest.mark.parametrize("path", [*LESSONS, *LABS, *SOLUTIONS, ROOT / "README.md"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    if path.suffix == ".ipynb":
        text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells
                         if c.cell_type == "markdown")
    else:
        text = path.read_text()
    broken = [t for t in links(text) if not resolves(path.parent, t)]
    assert not broken, f"{path.relative_to(ROOT)} links to files that do not exist: {broken}"


def last_markdown(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"][-1]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_a_lesson_ends_with_its_lab_then_the_next_lesson(lesson):
    ending = links(last_markdown(lesson))
    lab = lab_of_lesson(lesson.name)
    if (ROOT / "labs" / lab).exists():
        assert f"../my-labs/{lab}" in ending, f"{lesson.name} should end with a link to ../my-labs/{lab}"
        assert f"../labs/{lab}" in ending, f"{lesson.name} should end with a link to ../labs/{lab}"
    later = LESSONS[LESSONS.index(lesson) + 1:]
    if later:
        assert later[0].name in ending, f"{lesson.name} should end with a link to {later[0].name}"
        if f"../my-labs/{lab}" in ending:
            assert ending.index(f"../my-labs/{lab}") < ending.index(later[0].name), "lab first, then lesson"


@pytest.mark.parametrize("lab", [*LABS, *SOLUTIONS], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_lab_ends_with_the_next_lesson(lab):
    number = int(lab.name[:2])
    later = [p for p in LESSONS if int(p.name[:2]) > number]
    target = f"../notebooks/{later[0].name}" if later else "../notebooks/00-welcome.ipynb"
    assert target in links(last_markdown(lab)), f"{lab.name} should end with a link to {target}"
