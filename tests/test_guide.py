"""The instructor guide (coursekit/guide.py): complete, built from the notebooks, rebuilt when one
changes, escaped, offline. Expected values are read here from the notebooks and the wrong-answer
table directly, not through the guide's own parsing."""
import html
import importlib
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from coursekit import guide

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]-*.ipynb"))
CHECK_CALL = re.compile(r"""^check\(\s*["'](\d+\.\d+)["']""", re.M)


class Text(HTMLParser):
    """The text a reader sees in an HTML page (tags dropped, entities decoded)."""

    def __init__(self):
        super().__init__()
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def seen(page: str) -> str:
    reader = Text()
    reader.feed(page)
    return " ".join("".join(reader.parts).split())


def plain(markdown: str) -> str:
    """Markdown source as its rendered text reads (no backticks, no emphasis marks)."""
    pieces = markdown.split("`")  # odd pieces are code spans, shown as written
    return " ".join("".join(p if i % 2 else p.replace("*", "") for i, p in enumerate(pieces)).split())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("guide")
    md_path, html_path = guide.write_guide(ROOT, out)
    return md_path.read_text(), html_path.read_text()


def part(markdown: str, heading: str) -> str:
    """The part of the guide from `heading` to the next heading of the same level."""
    level = heading.split(" ")[0]
    start = markdown.index(heading)
    end = markdown.find(f"\n{level} ", start + len(heading))
    return markdown[start:end if end > 0 else None]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_lesson_with_minutes_objectives_and_key_points(built, path):
    markdown, page = built
    notebook = nbformat.read(path, as_version=4)
    title = notebook.cells[0].source.splitlines()[0].lstrip("# ")
    section = part(markdown, f"## Lesson {path.name[:2]}: {title}")
    assert f"`notebooks/{path.name}`: {notebook.metadata.course.teaching} min of teaching" in section
    assert f"| {path.name[:2]} | {title} | {notebook.metadata.course.teaching} |" in markdown
    objectives = re.findall(r"^- (.+)", notebook.cells[0].source.split("**Objectives**")[1], re.M)
    assert objectives and all(f"- {o.strip()}" in section for o in objectives)
    text = seen(page)
    keys = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown").split("## Key points")[1]
    for point in re.findall(r"^- (.+)", keys, re.M):
        assert plain(point) in text, point


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_every_lab_and_exercise_with_its_solution(built, path):
    markdown, _ = built
    notebook = nbformat.read(path, as_version=4)
    lab = path.name.replace("-solution-", "-lab-", 1)
    section = part(markdown, f"### Lab {path.name[:2]}: ")
    assert f"`labs/{lab}`): {notebook.metadata.course.exercises} min of exercises" in section
    assert f"`my-labs/{lab}`" in section
    checks = [n for c in notebook.cells if c.cell_type == "code" for n in CHECK_CALL.findall(c.source)]
    assert checks
    for number in checks:
        assert re.search(rf"^#### Exercise {re.escape(number)}: \S", section, re.M), number
        assert f"Solution: `solutions/{path.name}, cell " in part(section, f"#### Exercise {number}:")


@pytest.mark.parametrize("path", LESSONS + SOLUTIONS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_section_minute_figure(built, path):
    markdown, _ = built
    stated = [(c.source.splitlines()[0].lstrip("# ").strip(), c.metadata.course.minutes)
              for c in nbformat.read(path, as_version=4).cells
              if c.cell_type == "markdown" and re.match(r"#{1,2} ", c.source)
              and "minutes" in c.metadata.get("course", {})]
    for heading, minutes in stated:
        assert f"| {guide._cell(heading)} | {minutes} |" in markdown, heading


def test_every_instructor_note(built):
    _, page = built
    text = seen(page)
    notes = [c.metadata.course.instructor for p in LESSONS + SOLUTIONS
             for c in nbformat.read(p, as_version=4).cells if "instructor" in c.metadata.get("course", {})]
    assert len(notes) >= 12, "lessons 05-08 carry at least three notes each"
    for note in notes:
        assert plain(note) in text, note


def wrong_answer_rows():
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        return [(module.name[:5], row) for module in sorted((ROOT / "tests" / "wrong_answers").glob("lab*.py"))
                for row in importlib.import_module(f"wrong_answers.{module.stem}").ANSWERS]
    finally:
        sys.path.remove(str(ROOT / "tests"))


def test_every_wrong_answer_row_and_its_hint(built):
    markdown, page = built
    rows = wrong_answer_rows()
    assert len(rows) > 50
    for lab, row in rows:
        exercise = seen(guide.guide_html(part(markdown, f"#### Exercise {row.exercise}:")))
        assert " ".join(row.name.split()) in exercise, (lab, row.name)
        for words in row.says:
            assert " ".join(words.split()) in exercise, (lab, row.name, words)


def test_day_plans_place_every_lesson_in_class_or_at_home():
    pairs = guide.course(ROOT)
    for days in (1, 2, 3):
        plan = guide.plan_class(pairs, days)
        assert plan["used"] <= plan["budget"] == days * guide.DAY_MINUTES
        rows = [label for day in plan["days"] for _, _, label in day["rows"]]
        assert len(plan["days"]) == days
        for lesson, lab in pairs:
            taught = any(r.startswith(f"Lesson {lesson.number}:") for r in rows)
            home = any(h.startswith(f"Lesson {lesson.number} ") for h in plan["homework"])
            assert taught != home, (days, lesson.number)
            if lab:
                in_class = any(r.startswith(f"Lab {lab.number} ") for r in rows)
                assert in_class or f"Lab {lab.number}: {lab.minutes} of {lab.minutes} min at home" in plan["homework"]
        for day in plan["days"]:
            work = sum(int(e[:2]) * 60 + int(e[3:]) - int(s[:2]) * 60 - int(s[3:])
                       for s, e, label in day["rows"] if label not in ("Break", "Lunch"))
            assert work <= guide.DAY_MINUTES + guide.MIN_PIECE
            assert any(label == "Lunch" for _, _, label in day["rows"]) or work <= guide.LUNCH_AFTER
    one_day = guide.plan_class(pairs, 1)["homework"]
    assert any("read and run at home" in h for h in one_day), "a 1-day class must say what it cuts"


def course_copy(tmp_path):
    for folder in ("notebooks", "solutions", "labs"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copytree(ROOT / "tests" / "wrong_answers", tmp_path / "tests" / "wrong_answers",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def build(root):
    done = subprocess.run([sys.executable, "-m", "coursekit.guide", "--root", str(root)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    return done, root / guide.OUT / "instructor-guide.md", root / guide.OUT / "instructor-guide.html"


QUESTION = '''question("5.9", "Which <script> tag does the page run?", right="None: Jinja2 escaped it",
         wrong={"The one in the title": "autoescaping turns < into &lt; first"},
         why="Autoescaping is on for .html templates.")'''


def test_guide_is_rebuilt_from_a_changed_notebook(tmp_path):
    root = course_copy(tmp_path)
    path = root / "notebooks" / "05-flask.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.course.teaching = 71
    notebook.cells[2].metadata["course"] = {"minutes": 13, "instructor": "Say <b>why</b> & move on."}
    notebook.cells.insert(3, nbformat.v4.new_code_cell(QUESTION))
    nbformat.write(notebook, path)
    done, md_path, html_path = build(root)
    assert done.returncode == 0, done.stdout + done.stderr
    markdown, page = md_path.read_text(), html_path.read_text()
    assert "`notebooks/05-flask.ipynb`: 71 min of teaching" in markdown
    assert "| A framework over WSGI | 13 |" in markdown
    text = seen(page)
    for shown in ("5.9", "Which <script> tag does the page run?", "right: None: Jinja2 escaped it",
                  "autoescaping turns < into &lt; first", "Say <b>why</b> & move on."):
        assert shown in text, shown
    # escaped, not inserted as markup
    assert "<script>" not in page and "<b>why</b>" not in page and "&lt;b&gt;why&lt;/b&gt;" in page


def test_a_question_that_cannot_be_read_gets_a_clear_message(tmp_path):
    root = course_copy(tmp_path)
    path = root / "notebooks" / "06-fastapi.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_code_cell('question("6.9", TEXT, right="a", wrong={"b": "c"})'))
    nbformat.write(notebook, path)
    done, md_path, _ = build(root)
    assert done.returncode == 1 and not md_path.exists()
    assert "notebooks/06-fastapi.ipynb: text of a question(...) call must be written out literally" in done.stdout


def test_html_is_one_offline_page(built):
    _, page = built
    assert not re.search(r"<(script|link|img|iframe)\b", page), "the guide loads nothing"
    assert "<h1>Instructor guide</h1>" in page and page.count("<table>") >= 1


def test_course_py_guide_writes_both_files():
    done = subprocess.run([sys.executable, str(ROOT / "course.py"), "guide"], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("instructor-guide.md", "instructor-guide.html"):
        assert f"build/guide/{name}" in done.stdout
        assert (ROOT / "build" / "guide" / name).stat().st_size > 10_000
    ignored = subprocess.run(["git", "check-ignore", "-q", "build/guide/instructor-guide.html"], cwd=ROOT)
    assert ignored.returncode == 0, "the generated guide must stay out of git"
