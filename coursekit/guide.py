"""The instructor guide, built from the notebooks themselves, so it cannot drift from them.

    python3 course.py guide    # writes build/guide/instructor-guide.md and .html (git-ignored)

It collects each lesson's and lab's minutes (and section minutes), a day plan for a 1-, 2- and
3-day class, the objectives and key points, every exercise with its solution and the common
mistakes the tests use (tests/wrong_answers/labNN.py), the in-lesson questions with their answers,
and the instructor notes kept in cell metadata ({"course": {"instructor": "..."}}).
"""
import ast
import importlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from coursekit import questions
from coursekit.notebooks import lab_name

ROOT = Path(__file__).resolve().parent.parent
OUT = Path("build") / "guide"  # under the course folder; git-ignored

DAY_MINUTES = 360      # about six hours of teaching and lab time a day, breaks not counted
LAB_IN_CLASS = 45      # a lab started in class: its first exercises together, the rest as homework
DAY_START = 9 * 60     # 09:00
WORK_BEFORE_BREAK = 90     # a 15-minute break after about 90 minutes of work
SHORT_BREAK = 15
LUNCH_AFTER = 180          # lunch after about three hours of work
LUNCH = 60
MIN_PIECE = 15            # rather break early than start something for under 15 minutes

CHECK_CALL = re.compile(r"""^check\(\s*["'](\d+\.\d+)["']""", re.M)
BULLET = re.compile(r"^(?:[-*]|\d+\.) +(.*)")


@dataclass
class Section:
    heading: str
    minutes: object  # int, or None where the notebook states none


@dataclass
class Question(questions.Question):
    """A lesson's question as the guide shows it: the one in coursekit/questions.py, and where it is."""
    where: str = ""


@dataclass
class Note:
    notebook: str
    where: str
    text: str


@dataclass
class Exercise:
    number: str
    title: str
    solution: str
    lab: str
    mistakes: list = field(default_factory=list)   # (what the student did, words the check says)
    accepted: list = field(default_factory=list)   # valid variations that pass


@dataclass
class Unit:
    """A lesson or a lab, as the guide shows it."""
    kind: str          # "lesson" or "lab"
    number: str        # "05"
    title: str
    path: str          # relative to the course folder
    minutes: int       # teaching minutes for a lesson, exercise minutes for a lab
    summary: str = ""
    sections: list = field(default_factory=list)
    objectives: list = field(default_factory=list)
    key_points: list = field(default_factory=list)
    exercises: list = field(default_factory=list)
    questions: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def _read(path):
    import nbformat

    return nbformat.read(path, as_version=4)


def bullets_after(text: str, marker: str) -> list:
    """The bullet items of the list that follows the line `marker` (continuation lines joined)."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == marker)
    except StopIteration:
        return []
    items = []
    for line in lines[start + 1:]:
        found = BULLET.match(line)
        if found:
            items.append(found.group(1).strip())
        elif items and line.startswith((" ", "\t")) and line.strip():
            items[-1] += " " + line.strip()
        elif items or (line.strip() and not line.startswith(" ")):
            if line.strip() or not items:
                break
    return items


def _heading(source: str):
    first = source.splitlines()[0] if source else ""
    return first if re.match(r"#{1,3} ", first) else None


def _notes(notebook, path: str) -> list:
    found, where = [], "(before the first heading)"
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and _heading(cell.source):
            where = _heading(cell.source).lstrip("# ").strip()
        note = cell.metadata.get("course", {}).get("instructor")
        if note is not None:
            if not isinstance(note, str) or not note.strip():
                raise ValueError(f"{path}: an instructor note must be non-empty text, not {note!r}")
            found.append(Note(path, where, note.strip()))
    return found


def _sections(notebook) -> list:
    return [Section(cell.source.splitlines()[0].lstrip("# ").strip(),
                    cell.metadata.get("course", {}).get("minutes"))
            for cell in notebook.cells
            if cell.cell_type == "markdown" and re.match(r"#{1,2} ", cell.source)]


def _literal(node, path, what):
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ValueError(f"{path}: {what} of a question(...) call must be written out literally, "
                         f"so the guide can show it") from None


def questions_in(notebook, path: str) -> list:
    """Every question(...) call in the notebook's code cells, with its right answer."""
    found, where = [], "(before the first heading)"
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and _heading(cell.source):
            where = _heading(cell.source).lstrip("# ").strip()
        if cell.cell_type != "code" or "question(" not in cell.source:
            continue
        code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                         for line in cell.source.splitlines())
        try:
            tree = ast.parse(code)
        except SyntaxError as error:
            raise ValueError(f"{path}: a cell with question(...) does not parse: {error}") from None
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", ""))
                    == "question"):
                continue
            args = dict(zip(("number", "text", "right", "wrong", "why"), node.args))
            args.update({kw.arg: kw.value for kw in node.keywords})
            values = {name: _literal(value, path, name) for name, value in args.items()}
            missing = {"number", "text", "right", "wrong"} - set(values)
            if missing:
                raise ValueError(f"{path}: question(...) without {sorted(missing)}")
            found.append(Question(values["number"], values["text"], values["right"],
                                  dict(values["wrong"]), values.get("why", ""), where))
    return found


def _first_sentence(text: str, most: int = 140) -> str:
    """The first sentence of a Markdown text, cut at a word if long, never inside a `code` span."""
    text = " ".join(text.split())
    match = re.match(r"(.+?[.:])(?:\s|$)", text)
    sentence = match.group(1) if match else text
    if len(sentence) > most:
        sentence = sentence[:most].rsplit(" ", 1)[0]
        if sentence.count("`") % 2:
            sentence = sentence[:sentence.rindex("`")].rstrip()
        sentence += " ..."
    return sentence


def exercise_title(cells, check_index: int, number: str) -> str:
    """The exercise's title, from the markdown above its check: a '## Exercise N.M: title' heading
    (since the previous check), else the words in '**Exercise N.M (words).**', else the first
    sentence after '**Exercise N.M.**'."""
    escaped = re.escape(number)
    heading = re.compile(rf"^#+ Exercise {escaped}[.:]?\s*(.+)$", re.M)
    bold = re.compile(rf"\*\*Exercise {escaped}(?: \(([^)]+)\))?\.?\*\*\s*(.*)", re.S)
    above = list(reversed(cells[:check_index]))
    since_last_check = []
    for cell in above:
        if cell.cell_type == "code" and CHECK_CALL.search(cell.source):
            break
        since_last_check.append(cell)
    for cell in since_last_check:
        found = heading.search(cell.source) if cell.cell_type == "markdown" else None
        if found:
            return found.group(1).strip()
    for cell in above:
        found = bold.search(cell.source) if cell.cell_type == "markdown" else None
        if found:
            return found.group(1) or _first_sentence(found.group(2))
    raise ValueError(f"exercise {number}: no markdown above its check names it "
                     f"('## Exercise {number}: title' or '**Exercise {number}.** ...')")


def wrong_answer_table(number: str, root: Path) -> list:
    """Lab NN's rows from tests/wrong_answers/labNN.py (the table tests/test_wrong_answers.py runs)."""
    module_file = root / "tests" / "wrong_answers" / f"lab{number}.py"
    if not module_file.exists():
        return []
    saved_path, saved = list(sys.path), {name: module for name, module in sys.modules.items()
                                         if name == "wrong_answers" or name.startswith("wrong_answers.")}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(root / "tests"))
    try:
        return list(importlib.import_module(f"wrong_answers.lab{number}").ANSWERS)
    finally:
        sys.path[:] = saved_path
        for name in [n for n in sys.modules if n == "wrong_answers" or n.startswith("wrong_answers.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def _title(notebook) -> str:
    title = notebook.cells[0].source.splitlines()[0].lstrip("# ").strip()
    return re.sub(r"^Lab \d+: ", "", title)


def lesson_unit(path: Path, root: Path) -> Unit:
    notebook, rel = _read(path), str(path.relative_to(root))
    info = notebook.metadata.get("course", {})
    markdown = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    return Unit("lesson", path.name[:2], _title(notebook), rel, info.get("teaching", 0),
                info.get("summary", ""), _sections(notebook),
                bullets_after(notebook.cells[0].source, "**Objectives**"),
                bullets_after(markdown, "## Key points"),
                questions=questions_in(notebook, rel), notes=_notes(notebook, rel))


def lab_unit(solution: Path, root: Path) -> Unit:
    notebook, rel = _read(solution), str(solution.relative_to(root))
    lab = f"labs/{lab_name(solution.name)}"
    info = notebook.metadata.get("course", {})
    unit = Unit("lab", solution.name[:2], _title(notebook), lab, info.get("exercises", 0),
                info.get("summary", ""), _sections(notebook),
                questions=questions_in(notebook, rel), notes=_notes(notebook, rel))
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for number in CHECK_CALL.findall(cell.source):
                unit.exercises.append(Exercise(number, exercise_title(notebook.cells, index, number),
                                               f"{rel}, cell {index + 1}", lab))
    by_number = {exercise.number: exercise for exercise in unit.exercises}
    for row in wrong_answer_table(unit.number, root):
        if row.exercise not in by_number:
            raise ValueError(f"tests/wrong_answers/lab{unit.number}.py has a row for exercise "
                             f"{row.exercise}, which {rel} does not check")
        if row.passes:
            by_number[row.exercise].accepted.append(row.name)
        else:
            by_number[row.exercise].mistakes.append((row.name, list(row.says)))
    return unit


def course(root: Path = ROOT) -> list:
    """[(lesson, lab or None)] in course order, read from root's notebooks/ and solutions/."""
    pairs = []
    for lesson in sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb")):
        solutions = sorted((root / "solutions").glob(f"{lesson.name[:2]}-solution-*.ipynb"))
        pairs.append((lesson_unit(lesson, root), lab_unit(solutions[0], root) if solutions else None))
    return pairs


# ---- the day plan ------------------------------------------------------------------------------

def plan_class(pairs, days: int) -> dict:
    """Which lessons and how much of each lab fit into `days` days of DAY_MINUTES each.

    Every lesson is taught and every lab is started in class (up to LAB_IN_CLASS minutes) if that
    fits. If not, labs become homework from the last one back; then whole lessons become reading
    at home from the last one back (the course builds upward, so the end is what can wait); then any
    time left starts labs again, in course order."""
    budget = days * DAY_MINUTES
    lessons = {lesson.number: lesson.minutes for lesson, _ in pairs}
    lab_time = {lesson.number: min(lab.minutes, LAB_IN_CLASS) for lesson, lab in pairs if lab}
    labs = dict(lab_time)

    def total():
        return sum(lessons.values()) + sum(labs.values())

    for number in sorted(labs, reverse=True):
        if total() <= budget:
            break
        del labs[number]
    for number in sorted(lessons, reverse=True):
        if total() <= budget:
            break
        del lessons[number]
        labs.pop(number, None)
    for number in sorted(lab_time):
        if number in lessons and number not in labs and total() + lab_time[number] <= budget:
            labs[number] = lab_time[number]
    order = []
    for lesson, lab in pairs:
        if lesson.number in lessons:
            order.append((f"Lesson {lesson.number}: {lesson.title}", lesson.minutes))
        if lab and lesson.number in labs:
            done = "whole lab" if labs[lesson.number] == lab.minutes else "start it; finish at home"
            order.append((f"Lab {lab.number} in class ({done})", labs[lesson.number]))
    homework = []
    for lesson, lab in pairs:
        if lesson.number not in lessons:
            homework.append(f"Lesson {lesson.number} ({lesson.minutes} min): read and run at home")
        if lab and labs.get(lesson.number, 0) < lab.minutes:
            rest = lab.minutes - labs.get(lesson.number, 0)
            homework.append(f"Lab {lab.number}: {rest} of {lab.minutes} min at home")
    return {"days": layout_days(order, days), "homework": homework, "used": total(), "budget": budget}


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def layout_days(order, days: int) -> list:
    """Lay the items out on days of about DAY_MINUTES, with a break after about WORK_BEFORE_BREAK
    minutes and lunch after LUNCH_AFTER. An item runs up to MIN_PIECE minutes over rather than leave
    a scrap for after the break; nothing starts for less than MIN_PIECE minutes."""
    plan, queue = [], [[label, minutes, minutes] for label, minutes in order]
    while queue:
        day = {"rows": [], "work": 0}
        plan.append(day)
        now, since_break, lunched = DAY_START, 0, False
        last_day = len(plan) >= days
        while queue:
            label, left, whole = queue[0]
            room_day = DAY_MINUTES - day["work"] if not last_day else left + MIN_PIECE
            room = min(WORK_BEFORE_BREAK - since_break, room_day)
            if left <= room + MIN_PIECE and left <= room_day + MIN_PIECE:
                chunk = left
            elif room >= MIN_PIECE:
                chunk = room
            elif room_day < MIN_PIECE:
                break  # the day ends here
            else:
                pause = LUNCH if day["work"] >= LUNCH_AFTER - MIN_PIECE and not lunched else SHORT_BREAK
                lunched = lunched or pause == LUNCH
                day["rows"].append((_clock(now), _clock(now + pause), "Lunch" if pause == LUNCH else "Break"))
                now, since_break = now + pause, 0
                continue
            if chunk == whole:
                shown = label
            elif left == whole:
                shown = f"{label} (first {chunk} of {whole} min)"
            else:
                shown = f"{label} (continued: {chunk} of {whole} min)"
            day["rows"].append((_clock(now), _clock(now + chunk), shown))
            now, since_break, day["work"] = now + chunk, since_break + chunk, day["work"] + chunk
            if chunk == left:
                queue.pop(0)
            else:
                queue[0][1] = left - chunk
    return plan


# ---- writing it out ----------------------------------------------------------------------------

def _cell(text: str) -> str:
    """Markdown text on one line, safe in a table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _plain(text: str) -> str:
    """Plain text (from Python, not Markdown) shown as it is: Markdown's special characters escaped."""
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", " ".join(str(text).split()))


def guide_markdown(root: Path = ROOT) -> str:
    """The whole instructor guide as Markdown."""
    pairs = course(root)
    out = ["# Instructor guide", "",
           "Generated by `python3 course.py guide` from the notebooks, the labs' checks and the table of "
           "wrong answers the tests use (`tests/wrong_answers/`). Do not edit it; edit the notebooks "
           "(instructor notes live in cell metadata: `{\"course\": {\"instructor\": \"...\"}}`).", "",
           "## Schedule", "",
           "| # | Lesson | teaching min | Lab | exercise min |", "|---|---|---|---|---|"]
    teaching = exercises = 0
    for lesson, lab in pairs:
        teaching += lesson.minutes
        exercises += lab.minutes if lab else 0
        out.append(f"| {lesson.number} | {_cell(lesson.title)} | {lesson.minutes} | "
                   f"{_cell(lab.title) if lab else '-'} | {lab.minutes if lab else '-'} |")
    out += [f"| | **In all** | **{teaching}** | | **{exercises}** |", "",
            f"About {(teaching + exercises) // 60} h {(teaching + exercises) % 60} min in all "
            f"({teaching} min of lessons, {exercises} min of labs).", ""]

    out += ["## Day plans", "",
            f"A day is about {DAY_MINUTES // 60} hours of teaching and lab time from {_clock(DAY_START)}, "
            f"with a {SHORT_BREAK}-minute break after about {WORK_BEFORE_BREAK} minutes of work and a "
            f"{LUNCH}-minute lunch. Lessons are taught whole; a lab is started in class (up to "
            f"{LAB_IN_CLASS} min) and finished at home. When the course does not fit, labs move to "
            "homework first, from the last one back, then whole lessons, from the last one back; what "
            "time is left starts labs again. Where a break falls inside a lesson, take it at the nearest "
            "section heading.", ""]
    for days in (1, 2, 3):
        plan = plan_class(pairs, days)
        out += [f"### A {days}-day class", "",
                f"{plan['used']} of {plan['budget']} minutes used in class.", ""]
        for n, day in enumerate(plan["days"], 1):
            out += [f"**Day {n}**", ""]
            out += [f"- {start}-{end} {_cell(label)}" for start, end, label in day["rows"]]
            out.append("")
        out += ["Cut from class (homework or reading):", ""]
        out += [f"- {item}" for item in plan["homework"]] or ["- nothing"]
        out.append("")

    for lesson, lab in pairs:
        out += [f"## Lesson {lesson.number}: {lesson.title}", "",
                f"`{lesson.path}`: {lesson.minutes} min of teaching. {lesson.summary}", ""]
        out += _sections_md(lesson)
        out += ["**Objectives**", ""] + [f"- {item}" for item in lesson.objectives] + [""]
        if lesson.key_points:
            out += ["**Key points**", ""] + [f"- {item}" for item in lesson.key_points] + [""]
        out += _questions_md(lesson) + _notes_md(lesson)
        if lab:
            out += [f"### Lab {lab.number}: {lab.title}", "",
                    f"Students work in their own copy `my-labs/{Path(lab.path).name}` "
                    f"(the course's copy: `{lab.path}`): {lab.minutes} min of exercises. {lab.summary}", ""]
            out += _sections_md(lab)
            for exercise in lab.exercises:
                out += [f"#### Exercise {exercise.number}: {exercise.title}", "",
                        f"Solution: `{exercise.solution}`.", ""]
                if exercise.mistakes:
                    out += ["Common mistakes, and what `check()` says to each:", ""]
                    out += [f"- {_plain(name)}: its report names " + "; ".join(f"\"{_plain(s)}\"" for s in says)
                            for name, says in exercise.mistakes]
                    out.append("")
                if exercise.accepted:
                    out += ["Also accepted (valid answers written differently):", ""]
                    out += [f"- {_plain(name)}" for name in exercise.accepted] + [""]
            out += _questions_md(lab) + _notes_md(lab)
    return "\n".join(out).rstrip() + "\n"


def _sections_md(unit) -> list:
    stated = [s for s in unit.sections if s.minutes is not None]
    if not stated:
        return []
    rows = ["| section | min |", "|---|---|"]
    rows += [f"| {_cell(s.heading)} | {s.minutes if s.minutes is not None else '-'} |" for s in unit.sections]
    return rows + [""]


def _questions_md(unit) -> list:
    if not unit.questions:
        return []
    out = ["**In-lesson questions** (students answer them in the notebook; the right answer is marked)", ""]
    for q in unit.questions:
        out.append(f"- **{q.number}** ({_cell(q.where)}) {_cell(q.text)}")
        out.append(f"    - right: {_cell(q.right)}" + (f". {_cell(q.why)}" if q.why else ""))
        out += [f"    - wrong: {_cell(option)}: {_cell(why)}" for option, why in q.wrong.items()]
    return out + [""]


def _notes_md(unit) -> list:
    if not unit.notes:
        return []
    out = ["**Instructor notes**", ""]
    out += [f"- *{_cell(note.where)}*: {_cell(note.text)}" for note in unit.notes]
    return out + [""]


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Instructor guide</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }}
code {{ background: #f3f3f3; padding: 0 0.2rem; }}
h2 {{ border-bottom: 1px solid #ccc; margin-top: 2.5rem; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


def guide_html(markdown: str) -> str:
    """The guide as one offline HTML page. Raw HTML in the notebooks' text is escaped, not run."""
    import mistune

    render = mistune.create_markdown(escape=True, plugins=["table"])
    return PAGE.format(body=render(markdown))


def write_guide(root: Path = ROOT, out: Path = None) -> list:
    """Write the guide as Markdown and HTML; return the two paths."""
    out = Path(out) if out else root / OUT
    out.mkdir(parents=True, exist_ok=True)
    markdown = guide_markdown(root)
    written = [out / "instructor-guide.md", out / "instructor-guide.html"]
    written[0].write_text(markdown, encoding="utf-8")
    written[1].write_text(guide_html(markdown), encoding="utf-8")
    return written


def main(argv) -> int:
    root = ROOT
    if argv[:1] == ["--root"] and len(argv) >= 2:  # build the guide of another copy of the course
        root, argv = Path(argv[1]).resolve(), argv[2:]
    if argv:
        print("usage: python3 course.py guide [--root COURSE_FOLDER]")
        return 2
    try:
        paths = write_guide(root)
    except ValueError as error:
        print(f"The guide could not be built: {error}")
        return 1
    for path in paths:
        print(path.relative_to(root) if path.is_relative_to(root) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
