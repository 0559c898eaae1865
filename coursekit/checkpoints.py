"""Catch up in a live class: put the course's reference answers of the exercises before N.M in place.

In a lab (the notebook stays open and untouched; JupyterLab would otherwise see it change on disk):
    checkpoint("3.3")   # writes the reference %%writefile files of 3.1-3.2 (yours kept beside as
                        # apps/NAME.mine-DATE.py) and defines the reference functions in this kernel
From a terminal (a new notebook; yours is never overwritten):
    python3 course.py checkpoint labs/03 3.3    # or my-labs/03-lab-wsgi-by-hand.ipynb
    -> my-labs/03-lab-wsgi-by-hand.checkpoint-3.3.ipynb: reference cells before 3.3, your cells from 3.3 on
"""
import re
import sys
import time
from pathlib import Path

from coursekit.notebooks import lab_name

ROOT = Path(__file__).resolve().parent.parent
HEADING = re.compile(r"\*\*Exercise (\d+\.\d+)\.\*\*")
WRITEFILE = re.compile(r"^%%writefile\s+(?:-a\s+)?(\S+)\s*\n")
MARKERS = ("# BEGIN SOLUTION", "# END SOLUTION")


class CheckpointError(ValueError):
    """Bad input: an unknown lab or exercise, or a checkpoint with nothing before it."""


def solution_for(lab: str) -> Path:
    """solutions/NN-solution-*.ipynb for "03", "labs/03" or a lab notebook's path."""
    number = re.match(r"(\d+)", Path(lab).name)
    found = sorted((ROOT / "solutions").glob(f"{int(number.group(1)):02d}-solution-*.ipynb")) if number else []
    if not found:
        labs = ", ".join(p.name[:2] for p in sorted((ROOT / "labs").glob("*.ipynb")))
        raise CheckpointError(f"There is no lab {lab!r}. The labs are: {labs} (e.g. labs/03).")
    return found[0]


def exercise_starts(notebook) -> dict:
    """{"3.1": index of the markdown cell that opens exercise 3.1, ...} in notebook order."""
    starts = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            for number in HEADING.findall(cell.source):
                starts.setdefault(number, index)
    return starts


def reference_cells(number: str):
    """(solution notebook, the code cells before exercise `number` that are not checks)."""
    import nbformat

    solution = nbformat.read(solution_for(number.split(".")[0]), as_version=4)
    starts = exercise_starts(solution)
    if number not in starts:
        raise CheckpointError(f"Lab {number.split('.')[0]} has no exercise {number}; "
                              f"its exercises are {', '.join(starts)}.")
    if starts[number] == min(starts.values()):
        raise CheckpointError(f"{number} is the lab's first exercise: there is nothing before it to "
                              "catch up on. Run the lab's cells from the top.")
    cells = [c for c in solution.cells[:starts[number]]
             if c.cell_type == "code" and not re.match(r"\s*(check|stop_all)\(", c.source)]
    return solution, starts, cells


def clean(source: str) -> str:
    """The reference code without its solution markers."""
    lines = [line for line in source.split("\n") if line.strip() not in MARKERS]
    return "\n".join(line.removesuffix("  # SOLUTION") for line in lines)


def write_keeping_mine(path: Path, text: str, stamp: str) -> str:
    """Write the reference file; an existing different file of the student's is kept beside it."""
    if path.exists() and path.read_text() == text:
        return f"{path} already holds the reference"
    said = f"wrote the reference {path}"
    if path.exists():
        kept = path.with_name(f"{path.stem}.mine-{stamp}{path.suffix}")
        path.rename(kept)
        said += f" (yours is kept as {kept})"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return said


def checkpoint(number: str, folder: str | Path = ".") -> list[str]:
    """In a lab's kernel: the reference answers of the exercises before `number`, in place.
    Files go to `folder` (the notebook's); the notebook itself is not changed. Prints what changed."""
    try:
        _, _, cells = reference_cells(number)
    except CheckpointError as error:
        print(error)
        return []
    namespace = _user_namespace()
    stamp, said = time.strftime("%Y%m%d-%H%M%S"), []
    for cell in cells:
        source = clean(cell.source)
        target = WRITEFILE.match(source)
        if target:
            said.append(write_keeping_mine(Path(folder) / target.group(1), source[target.end():], stamp))
            continue
        before = dict(namespace)
        exec(compile(_python(source), f"<reference before {number}>", "exec"), namespace)
        changed = sorted(name for name, value in namespace.items() if not name.startswith("_")
                         and name in before and before[name] is not value and callable(value))
        new = sorted(name for name in namespace if name not in before and not name.startswith("_"))
        if changed:
            said.append(f"defined the reference {', '.join(changed)} in this kernel (your cells are "
                        "unchanged: run them again to use yours)")
        if new:
            said.append(f"defined {', '.join(new)} in this kernel")
    print(f"Checkpoint {number}: the course's answers to the exercises before {number} are in place.")
    for line in said:
        print(f"  - {line}")
    return said


def _user_namespace() -> dict:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        return shell.user_ns
    return sys.modules["__main__"].__dict__


def _python(source: str) -> str:
    """IPython's translation of a cell (magics and all), or the source as it is outside IPython."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    return shell.transform_cell(source) if shell is not None else source


def checkpoint_notebook(lab: str, number: str) -> Path:
    """From a terminal: a new notebook beside the student's copy, with the reference cells before
    `number` and the student's own cells from `number` on; the reference files are written too."""
    import nbformat

    lab_number = solution_for(lab).name[:2]
    if f"{int(number.split('.')[0]):02d}" != lab_number if number.split(".")[0].isdigit() else True:
        raise CheckpointError(f"Exercise {number!r} is not in lab {lab_number}: its exercises are "
                              f"numbered {int(lab_number)}.1, {int(lab_number)}.2, ...")
    solution, starts, cells = reference_cells(number)
    given = Path(lab)
    if given.suffix == ".ipynb":
        mine = given
    else:
        name = lab_name(solution_for(lab).name)
        mine = ROOT / "my-labs" / name
    if not mine.exists():
        raise CheckpointError(f"{mine} does not exist: run `python3 course.py start` to get your copy "
                              "of the labs, or name your lab notebook.")
    student = nbformat.read(mine, as_version=4)
    at = exercise_starts(student).get(number)
    if at is None:
        raise CheckpointError(f"{mine.name} has no '**Exercise {number}.**' heading (was it deleted?); "
                              "copy that cell back from the course's labs/ and try again.")
    out = nbformat.from_dict(solution)
    out.cells = []
    for cell in nbformat.from_dict(solution).cells[:starts[number]]:
        if cell.cell_type == "code":
            cell.source, cell.outputs, cell.execution_count = clean(cell.source), [], None
        out.cells.append(cell)
    out.cells += student.cells[at:]
    target = mine.with_name(f"{mine.stem}.checkpoint-{number}.ipynb")
    n = 1
    while target.exists():
        n += 1
        target = mine.with_name(f"{mine.stem}.checkpoint-{number}-{n}.ipynb")
    nbformat.write(out, target)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    print(f"Wrote {target}: the course's answers before exercise {number}, your own cells from "
          f"{number} on. Your {mine.name} is unchanged; open the new notebook and run it from the top.")
    for cell in cells:
        found = WRITEFILE.match(clean(cell.source))
        if found:
            print("  - " + write_keeping_mine(mine.parent / found.group(1),
                                              clean(cell.source)[found.end():], stamp))
    return target


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("Name a lab and an exercise, e.g.: python3 course.py checkpoint labs/03 3.3")
        return 2
    try:
        checkpoint_notebook(argv[0], argv[1])
    except CheckpointError as error:
        print(error)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
