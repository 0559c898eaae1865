"""The instructor guide is complete (every lesson, lab, exercise, minute figure, question, note and
common mistake) and is rebuilt from the notebooks, so a change to a notebook shows up in it."""
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from coursekit.guide import guide_html, guide_markdown, questions_in, wrong_answer_table, write_guide

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
CHECK = re.compile(r"""^check\(\s*["'](\d+\.\d+)["']""", re.M)


@pytest.fixture(scope="module")
def guide():
    return guide_markdown(ROOT)


def squash(text):
    """Compare text without caring how the guide wraps or escapes it."""
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>])", r"\1", text)  # Markdown's escapes
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=lambda p: p.stem)
def test_every_notebook_its_minutes_and_its_instructor_notes_are_in_the_guide(path, guide):
    notebook = nbformat.read(path, as_version=4)
    title = re.sub(r"^Lab \d+: ", "", notebook.cells[0].source.splitlines()[0].lstrip("# ").strip())
    assert title in guide, f"{path.name}: its title {title!r} is not in the guide"
    info = notebook.metadata.course
    minutes = info.teaching if path.parent.name == "notebooks" else info.exercises
    row = next((line for line in guide.splitlines() if line.startswith(f"| {path.name[:2]} |")), "")
    assert f"| {minutes} |" in row, f"{path.name}: {minutes} min is not in the schedule row {row!r}"
    notes = [c.metadata["course"]["instructor"] for c in notebook.cells
             if c.metadata.get("course", {}).get("instructor")]
    if path.parent.name == "notebooks" and int(path.name[:2]) <= 8:
        assert notes, f"{path.name} has no instructor notes"
    for note in notes:
        assert squash(note) in squash(guide), f"{path.name}: a note is missing: {note[:60]!r}"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_objectives_and_questions_with_their_answers(path, guide):
    notebook = nbformat.read(path, as_version=4)
    objectives = notebook.cells[0].source.split("**Objectives**", 1)[1]
    first = re.search(r"^- (.+)", objectives, re.M).group(1)
    assert squash(first) in squash(guide), f"{path.name}: the first objective is missing"
    for question in questions_in(notebook, str(path.relative_to(ROOT))):
        assert squash(question.right) in squash(guide), f"{path.name}: question {question.number}'s answer"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_every_exercise_and_every_common_mistake_from_the_wrong_answer_table(solution, guide):
    notebook = nbformat.read(solution, as_version=4)
    numbers = [n for c in notebook.cells if c.cell_type == "code" for n in CHECK.findall(c.source)]
    assert numbers, f"{solution.name} checks nothing"
    for number in numbers:
        assert re.search(rf"\b{re.escape(number)}\b", guide), f"exercise {number} is not in the guide"
    rows = wrong_answer_table(solution.name[:2], ROOT)
    assert rows, f"no wrong-answer table for {solution.name}"
    for row in rows:
        assert squash(row.name) in squash(guide), f"{row.exercise}: the row {row.name!r} is missing"
        for hint in row.says if not row.passes else []:
            assert squash(hint) in squash(guide), f"{row.exercise}: the hint {hint!r} is missing"


def test_day_plans_place_every_lesson_in_class_or_as_homework(guide):
    for days in (1, 2, 3):
        part = guide.split(f"### A {days}-day class", 1)[1].split("### A ", 1)[0]
        for lesson in LESSONS:
            assert f"Lesson {lesson.name[:2]}" in part, f"{days}-day plan leaves out lesson {lesson.name[:2]}"
    assert "Day 3" in guide.split("### A 3-day class", 1)[1]


def test_a_changed_notebook_changes_the_guide_and_html_is_escaped_and_offline(tmp_path):
    for folder in ("notebooks", "solutions", "labs"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("apps"))
    shutil.copytree(ROOT / "tests" / "wrong_answers", tmp_path / "tests" / "wrong_answers")
    lesson = tmp_path / "notebooks" / "03-wsgi-by-hand.ipynb"
    notebook = nbformat.read(lesson, as_version=4)
    notebook.metadata.course.teaching = 777
    notebook.cells[2].metadata.setdefault("course", {})["instructor"] = "Demo <script>alert(1)</script> live."
    nbformat.write(notebook, lesson)

    markdown, html_path = write_guide(tmp_path, tmp_path / "out")
    text = markdown.read_text()
    assert "| 777 |" in text and "Demo <script>alert(1)</script> live." in text
    assert "| 777 |" not in guide_markdown(ROOT), "the test's change leaked into the real course"
    page = html_path.read_text()
    assert "&lt;script&gt;alert(1)" in page and "<script>alert(1)" not in page
    assert not re.search(r"""<[a-z]+[^<>]*\s(src|href)=["']https?:""", page), "the HTML page loads something from the web"
    assert guide_html("plain") != guide_html("other")
