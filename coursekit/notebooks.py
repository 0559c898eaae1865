"""Maintain the course's notebooks: re-execute them, generate labs from solutions, print the map.

    python -m coursekit.notebooks refresh [NOTEBOOK ...]   # or: python3 course.py refresh
    python -m coursekit.notebooks labs                     # or: python3 course.py labs
"""
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END, LINE = "# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION"
SOLUTION_LINE = re.compile(r"^([ \t]*[\w.\[\]\"']+ = ).*?\s*# SOLUTION$")
DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]+(\w+)")


class MarkerError(ValueError):
    """A solution cell's markers are malformed: publishing it could give the answer away."""


def indent_of(line):
    return len(line) - len(line.lstrip(" \t"))


def whole_body_of(lines, begin, end):
    """The name of the function whose whole body is lines[begin:end+1], or None.

    Only a docstring and comments may come between the `def` line and the block, and nothing of
    the function may follow it: such a starter raises NotImplementedError, as nbgrader's do.
    """
    indent = indent_of(lines[begin])
    for after in lines[end + 1:]:
        if after.strip():
            if indent_of(after) >= indent:
                return None
            break
    above = []
    for number in range(begin - 1, -1, -1):
        line = lines[number]
        found = DEF.match(line)
        if found and len(found.group(1)) < indent:
            text = "\n".join(l.strip() for l in above if l.strip() and not l.strip().startswith("#"))
            is_docstring = text == "" or (text[:3] in ('"""', "'''") and text.endswith(text[:3]))
            return found.group(2) if is_docstring else None
        if line.strip() and indent_of(line) < indent:
            return None  # an if/else/with around the block: part of a body, not all of it
        above.insert(0, line)
    return None


def starter_source(source, where="a solution cell"):
    """A solution cell's code with the answers taken out.

    A block between `# BEGIN SOLUTION` and `# END SOLUTION` becomes `...`, or `raise
    NotImplementedError(...)` when it is a function's whole body; `x = answer  # SOLUTION` becomes
    `x = ...`. Malformed markers raise MarkerError naming `where` (never a published answer).
    """
    lines, out, number = source.split("\n"), [], 0
    while number < len(lines):
        line, stripped = lines[number], lines[number].strip()
        if stripped == BEGIN:
            end = next((n for n in range(number + 1, len(lines)) if lines[n].strip() in (BEGIN, END)),
                       None)
            if end is None or lines[end].strip() != END:
                raise MarkerError(f"{where}: '{BEGIN}' on line {number + 1} has no '{END}' "
                                  "after it, before any other BEGIN")
            pad = line[:indent_of(line)]
            name = whole_body_of(lines, number, end)
            out.append(f'{pad}raise NotImplementedError("{name}() is not written yet")' if name
                       else f"{pad}...")
            number = end + 1
            continue
        if stripped == END:
            raise MarkerError(f"{where}: '{END}' on line {number + 1} has no '{BEGIN}' before it")
        if LINE in line:
            match = SOLUTION_LINE.match(line)
            if not match:
                raise MarkerError(f"{where}: line {number + 1} is marked '{LINE}' but is not an "
                                  f"assignment 'name = value  {LINE}': {stripped!r}")
            line = f"{match.group(1)}..."
        out.append(line)
        number += 1
    return "\n".join(out)


def lab_from_solution(solution, name="the solution"):
    """The lab notebook generated from its solution twin: answers removed, outputs cleared."""
    import nbformat

    lab = nbformat.from_dict(solution)
    for number, cell in enumerate(lab.cells):
        if cell.cell_type == "code":
            cell.source = starter_source(cell.source, f"{name}, cell {number}")
            cell.outputs = []
            cell.execution_count = None
    return lab


def lab_name(solution_name: str) -> str:
    """The lab twin's file name: solutions/NN-solution-title.ipynb -> labs/NN-lab-title.ipynb."""
    return solution_name.replace("-solution-", "-lab-", 1)


def lab_of_lesson(lesson_name: str) -> str:
    """The lab a lesson leads to: NN-title.ipynb -> NN-lab-title.ipynb."""
    return lesson_name.replace("-", "-lab-", 1)


def lesson_name(lab_or_solution_name: str) -> str:
    """The lesson a lab belongs to: NN-lab-title.ipynb -> NN-title.ipynb."""
    return re.sub(r"^(\d\d)-(lab|solution)-", r"\1-", lab_or_solution_name)


def write_labs(solutions=()):
    """Regenerate labs/NN-lab-title.ipynb from solutions/NN-solution-title.ipynb (all, or those named)."""
    import nbformat

    for solution_path in solutions or sorted((ROOT / "solutions").glob("*.ipynb")):
        solution_path = Path(solution_path).resolve()
        lab = lab_from_solution(nbformat.read(solution_path, as_version=4),
                                f"solutions/{solution_path.name}")
        nbformat.write(lab, ROOT / "labs" / lab_name(solution_path.name))
        print(f"labs/{lab_name(solution_path.name)}")


def execute(path, timeout=300):
    """Run a notebook top to bottom in its own folder and save it with fresh outputs."""
    import nbformat
    from nbclient import NotebookClient

    from coursekit.questions import STORED_RUN

    os.environ.setdefault("IPYKERNEL_CELL_NAME", "<IPY-INPUT>")
    os.environ[STORED_RUN] = "1"  # questions answer themselves from code (see questions.py)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(Path(path).parent)}}).execute()
    nbformat.write(notebook, path)


def refresh(paths):
    """Re-execute lessons and solutions (all, or those named), then regenerate the labs."""
    targets = [Path(p) for p in paths] or sorted(
        [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])
    for path in targets:
        print(f"executing {path}", flush=True)
        execute(path)
    solved = [p for p in targets if p.resolve().parent.name == "solutions"]
    if solved:
        write_labs(solved)


# Minutes a student needs, estimated from what a notebook holds. The rates are fitted to the one
# measurement we have (a new student's walkthrough: lesson 01 130-160 min, lesson 02 70-85,
# lesson 03 100-120, lab 03 90-120); the estimate lands inside each of those ranges.
READ_WORDS_PER_MINUTE = 120   # prose with code words in it, read carefully
MINUTES_PER_CODE_CELL = 0.75  # run it, look at the output
MINUTES_PER_CODE_LINE = 0.1   # read the code
MINUTES_PER_QUESTION = 1      # think and answer; its words are read like prose
MINUTES_PER_CHECKED_EXERCISE = 8   # read the task, run check(), read its report, fix, again
MINUTES_PER_ANSWER_LINE = 0.35     # write a line of the answer


def _nonblank(source):
    return [line for line in source.splitlines() if line.strip()]


def estimate_sections(notebook) -> list:
    """[(heading, estimated minutes)] for each part of a notebook that starts with # or ##."""
    found = [["(before the first heading)", 0.0]]
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            if re.match(r"#{1,2} ", cell.source):
                found.append([cell.source.splitlines()[0], 0.0])
            found[-1][1] += len(re.findall(r"\w+", cell.source)) / READ_WORDS_PER_MINUTE
        elif cell.cell_type == "code" and re.match(r"\s*question\(", cell.source):
            # A question is read (question, options) and answered; the feedback is one sentence.
            found[-1][1] += (len(re.findall(r"\w+", cell.source)) / READ_WORDS_PER_MINUTE
                             + MINUTES_PER_QUESTION)
        elif cell.cell_type == "code":
            given = _nonblank(starter_source(cell.source))  # what a student reads before writing
            answer = len(_nonblank(cell.source)) - len(given) + cell.source.count(f"  {LINE}")
            found[-1][1] += (MINUTES_PER_CODE_CELL + MINUTES_PER_CODE_LINE * len(given)
                             + MINUTES_PER_ANSWER_LINE * answer
                             + MINUTES_PER_CHECKED_EXERCISE * len(re.findall(r"^check\(", cell.source, re.M)))
    return [(heading, minutes) for heading, minutes in found if minutes or heading[0] == "#"]


def store_section_minutes(path) -> None:
    """Write the estimate, rounded, into a lesson's heading cells and its teaching total."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    estimate = dict(estimate_sections(notebook))
    total = 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and re.match(r"#{1,2} ", cell.source):
            minutes = max(1, round(estimate[cell.source.splitlines()[0]]))
            cell.metadata.setdefault("course", {})["minutes"] = minutes
            total += minutes
    notebook.metadata.course.teaching = total
    nbformat.write(notebook, path)
    print(f"{path}: {total} min")


def estimates(argv=()):
    """Print each lesson's and solution's stated minutes beside the estimate, section by section
    (`--store NOTEBOOK ...` writes the rounded estimate into a lesson's section minutes)."""
    import nbformat

    if argv[:1] == ["--store"]:
        for path in argv[1:]:
            store_section_minutes(path)
        return
    for path in sorted([*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")]):
        notebook = nbformat.read(path, as_version=4)
        info = notebook.metadata.get("course", {})
        stated = info.get("teaching", 0) + info.get("exercises", 0)
        parts = estimate_sections(notebook)
        print(f"{path.parent.name}/{path.name}: stated {stated} min, "
              f"estimated {round(sum(m for _, m in parts))} min")
        for heading, minutes in parts:
            print(f"  {minutes:5.1f}  {heading[:70]}")


SETUP_TAG = "setup"  # the one cell a student runs first after coming back to a lesson
BREAK_TAG = "break"  # a marked pause in a long lesson, with a recap
SECTION = re.compile(r"## ")


def setup_and_sections(notebook):
    """A lesson's set-up cell and its `##` sections as (heading, code cells) pairs.

    The set-up cell is the first code cell, tagged "setup": imports and nothing that needs an
    earlier cell. Each section must run after only that cell, in a fresh kernel (resume anywhere)."""
    setup, parts = None, []
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and SECTION.match(cell.source):
            parts.append((cell.source.splitlines()[0], []))
        elif cell.cell_type == "code":
            if setup is None:
                setup = cell
            elif parts:
                parts[-1][1].append(cell)
    if setup is not None and SETUP_TAG not in setup.metadata.get("tags", []):
        setup = None
    return setup, parts


REPEAT_USAGE = """usage: course.py repeat [--load N] [--all] [RUNS] [PATH ...]
  RUNS       how many runs in a row (default 20)
  PATH       notebooks or test files to run (default: lessons 00-04)
  --all      every lesson, every solution and the wrong-answer table (tests/test_wrong_answers.py)
  --load N   N busy loops compete for the cores during each run (pytest --load N)"""
REPEAT_SECONDS = 3600  # one run of everything, loaded, takes well under this


def repeat_arguments(argv):
    """(runs, load, paths) from repeat's command line; ValueError says what is wrong."""
    runs, load, paths, everything = 20, 0, [], False
    argv = list(argv)
    while argv:
        arg = argv.pop(0)
        if arg == "--load":
            if not argv or not argv[0].isdigit():
                raise ValueError("--load needs a number of busy loops, such as --load 2")
            load = int(argv.pop(0))
        elif arg == "--all":
            everything = True
        elif arg.isdigit():
            runs = int(arg)
        elif arg.startswith("-"):
            raise ValueError(f"unknown option {arg}")
        else:
            paths.append(arg)
    if everything:
        paths += [str(p.relative_to(ROOT)) for p in sorted(
            [*ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("solutions/*.ipynb")])]
        paths.append("tests/test_wrong_answers.py")
    if not paths:
        paths = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("notebooks/0[0-4]-*.ipynb"))
    return runs, load, paths


def repeat(argv) -> int:
    """Run nbval on notebooks (and any test files named) RUNS times in a row, with --load N busy
    loops competing for the cores, and count the runs whose outputs all matched the stored ones:
    an output or a check that depends on timing shows up here."""
    import signal
    import subprocess

    try:
        runs, load, paths = repeat_arguments(argv)
    except ValueError as error:
        print(f"{error}\n{REPEAT_USAGE}")
        return 2
    # One test file from tests/ makes pytest load tests/conftest.py, whose kernels talk over Unix
    # sockets (TCP kernels can lose their ports to the servers' connections: "Kernel died"), and
    # which starts the --load busy loops.
    # -vv: a failed run's log shows the whole of an output that differed (nbval cuts it otherwise).
    command = [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-vv", "-n", "2",
               "--load", str(load), "tests/test_links.py", *paths]
    failed = []
    for run in range(1, runs + 1):
        # pytest leads a process group of its own, so a run that overstays is stopped whole.
        pytest = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, start_new_session=True)
        try:
            output, _ = pytest.communicate(timeout=REPEAT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(pytest.pid, signal.SIGKILL)
            output, _ = pytest.communicate()
            output += f"\n(stopped: the run took more than {REPEAT_SECONDS} s)"
        summary = (output.strip().splitlines() or ["(no output)"])[-1].strip("= ")
        print(f"run {run}/{runs}: {summary}", flush=True)
        if pytest.returncode != 0:
            failed.append(run)
            log = ROOT / "build" / f"repeat-run-{run}.log"  # the whole pytest report, to read later
            log.parent.mkdir(exist_ok=True)
            log.write_text(output)
            print("\n".join(line for line in output.splitlines()
                            if line.startswith(("FAILED", "ERROR"))) + f"\n  (full report: {log})")
    loaded = f", with {load} busy loop(s) competing for the cores" if load else ""
    print(f"{runs - len(failed)} of {runs} runs matched the stored outputs in every cell of {len(paths)} "
          f"notebook(s) and test file(s){loaded}.")
    return 1 if failed else 0


MAP_WIDTH = 90  # the course map fits a narrow notebook column


def course_map_lines() -> list:
    """The lessons and labs in order, with what each teaches and its minutes (from metadata)."""
    import textwrap

    import nbformat

    lines, total = [], 0
    for lesson in sorted((ROOT / "notebooks").glob("*.ipynb")):
        lab = ROOT / "labs" / lab_of_lesson(lesson.name)
        for kind, path in (("lesson", lesson), ("lab", lab)):
            if not path.exists():
                continue
            info = nbformat.read(path, as_version=4).metadata.get("course", {})
            minutes = info.get("teaching", 0) + info.get("exercises", 0)
            total += minutes
            name = f"{kind:<7}{path.name}"
            lines.append(f"{lesson.name[:2] if kind == 'lesson' else '':<4}{name:<{MAP_WIDTH - 12}}"
                         f"{minutes:>4} min")
            lines += textwrap.wrap(info.get("summary", ""), MAP_WIDTH,
                                   initial_indent=" " * 8, subsequent_indent=" " * 8)
    lines.append(f"In all about {total // 60} h {total % 60} min.")
    return lines


def course_map():
    """Print the course map (lesson 00 shows it)."""
    print("\n".join(course_map_lines()))


def main(argv):
    if argv[:1] == ["refresh"]:
        refresh(argv[1:])
    elif argv[:1] == ["labs"]:
        write_labs()
    elif argv[:1] == ["minutes"]:
        estimates(argv[1:])
    elif argv[:1] == ["repeat"]:
        return repeat(argv[1:])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
