"""Catch up in a live class: take the reference answers of the exercises before N.M, keep your own.

In a lab notebook:      checkpoint("3.3")   # exercises 3.1 and 3.2 as the solution has them
From a terminal:        python3 course.py checkpoint my-labs/03-lab-wsgi-by-hand.ipynb 3.3

In the kernel, the solution's cells of the earlier exercises run (their functions replace yours in
memory; your cells keep your text), and a file they write is first copied to NAME.mine-DATE.EXT.
From a terminal, a new notebook is written beside yours; yours is never changed.
"""
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXERCISE = re.compile(r"^\*\*Exercise (\d+)\.(\d+)\.\*\*")
WRITEFILE = re.compile(r"^%%writefile(?:\s+-a)?\s+(\S+)")


class CheckpointError(ValueError):
    """The lab or the exercise asked for does not exist; the message says what does."""


def exercise_of(cell):
    """(lab, exercise) numbers if the cell opens an exercise ("**Exercise 3.2.** ..."), else None."""
    found = cell.cell_type == "markdown" and EXERCISE.match(cell.source)
    return (int(found.group(1)), int(found.group(2))) if found else None


def parse_number(number: str):
    found = re.fullmatch(r"(\d+)\.(\d+)", str(number).strip())
    if not found:
        raise CheckpointError(f"name an exercise as LAB.EXERCISE, e.g. checkpoint(\"3.2\"), not {number!r}")
    return int(found.group(1)), int(found.group(2))


def solution_for(lab: int, root: Path = ROOT) -> Path:
    found = sorted((root / "solutions").glob(f"{lab:02d}-solution-*.ipynb"))
    if not found:
        raise CheckpointError(f"there is no lab {lab:02d}")
    return found[0]


def split(notebook):
    """The notebook's cells as [(exercise or None, [cells])]: the set-up first, then each exercise
    from its heading up to the next one; what follows the last exercise's check stays with it."""
    parts = [(None, [])]
    for cell in notebook.cells:
        number = exercise_of(cell)
        if number:
            parts.append((number, []))
        parts[-1][1].append(cell)
    return parts


def earlier(notebook, wanted):
    """The cells of every exercise before `wanted`; CheckpointError if `wanted` is not in the lab."""
    parts = split(notebook)
    numbers = [number for number, _ in parts if number]
    if wanted not in numbers:
        names = ", ".join(f"{a}.{b}" for a, b in numbers)
        raise CheckpointError(f"lab {wanted[0]:02d} has no exercise {wanted[0]}.{wanted[1]}; it has {names}")
    if wanted == numbers[0]:
        raise CheckpointError(f"{wanted[0]}.{wanted[1]} is the first exercise: there is nothing before it "
                              "to catch up on")
    return [(number, cells) for number, cells in parts if number and number < wanted]


def runnable(cell) -> bool:
    """A solution cell that builds state (not a check, not the final stop)."""
    source = cell.source.strip()
    return cell.cell_type == "code" and not re.match(r"(check|stop_all)\(", source)


def keep_mine(path: Path, stamp: str):
    """Copy the student's file to NAME.mine-STAMP.EXT before the reference replaces it."""
    if not path.exists():
        return None
    kept = path.with_name(f"{path.stem}.mine-{stamp}{path.suffix}")
    shutil.copy2(path, kept)
    return kept


def checkpoint(number: str) -> None:
    """In a lab's kernel: run the reference cells of the exercises before `number`, keeping your files."""
    import nbformat
    from IPython import get_ipython
    from IPython.utils.capture import capture_output

    try:
        wanted = parse_number(number)
        parts = earlier(nbformat.read(solution_for(wanted[0]), as_version=4), wanted)
    except CheckpointError as error:
        print(f"checkpoint: {error}")
        return
    shell, stamp, said = get_ipython(), time.strftime("%Y%m%d-%H%M%S"), []
    if shell is None:
        print("checkpoint() runs inside a lab notebook; from a terminal use python3 course.py checkpoint")
        return
    setup = split(nbformat.read(solution_for(wanted[0]), as_version=4))[0][1]
    for exercise, cells in [((0, 0), setup), *parts]:  # the set-up first: the imports the answers use
        for cell in filter(runnable, cells):
            target = WRITEFILE.match(cell.source)
            if target and not cell.source.startswith("%%writefile -a"):
                kept = keep_mine(Path(target.group(1)), stamp)
                if kept:
                    said.append(f"  your {target.group(1)} is kept as {kept}")
                said.append(f"  {target.group(1)}: the reference version ({exercise[0]}.{exercise[1]})")
            with capture_output() as shown:
                result = shell.run_cell(cell.source, store_history=False, silent=True)
            if not result.success:
                print(f"checkpoint: a reference cell of {exercise[0]}.{exercise[1]} failed:\n{shown.stdout}"
                      f"{result.error_in_exec or result.error_before_exec}")
                return
            names = re.findall(r"^(?:async\s+)?(?:def|class)\s+(\w+)", cell.source, re.M)
            if names and not target:
                said.append(f"  {', '.join(names)}: the reference version ({exercise[0]}.{exercise[1]}), "
                            "in memory; your cell keeps your text")
    done = ", ".join(f"{a}.{b}" for (a, b), _ in parts)
    print(f"Checkpoint {number}: exercises {done} are now as the solution has them.")
    print("\n".join(said))
    print(f"Carry on with exercise {number}.")


def checkpoint_notebook(lab_path, number: str, root: Path = ROOT):
    """From a terminal: write NAME.checkpoint-N.M.ipynb beside the student's lab, with the solution's
    cells for the exercises before N.M and the student's own cells from N.M on."""
    import nbformat

    lab_path = Path(lab_path)
    if not lab_path.exists():
        raise CheckpointError(f"{lab_path} does not exist")
    wanted = parse_number(number)
    if not lab_path.name.startswith(f"{wanted[0]:02d}-"):
        raise CheckpointError(f"{lab_path.name} is not lab {wanted[0]:02d}")
    mine = nbformat.read(lab_path, as_version=4)
    reference = dict(earlier(nbformat.read(solution_for(wanted[0], root), as_version=4), wanted))
    earlier(mine, wanted)  # the student's copy must have the exercise too
    cells = []
    for exercise, part in split(mine):
        cells += reference.get(exercise, part) if exercise else part
    mine.cells = [nbformat.from_dict(dict(cell, outputs=[], execution_count=None))
                  if cell.cell_type == "code" else cell for cell in cells]
    out = lab_path.with_name(f"{lab_path.stem}.checkpoint-{number}.ipynb")
    nbformat.write(mine, out)
    return out, [f"{a}.{b}" for a, b in sorted(reference)]


def main(argv) -> int:
    if len(argv) != 2:
        print("usage: python3 course.py checkpoint my-labs/NN-lab-title.ipynb N.M")
        return 2
    try:
        out, done = checkpoint_notebook(argv[0], argv[1])
    except CheckpointError as error:
        print(f"checkpoint: {error}")
        return 2
    print(f"{out} is your lab with exercises {', '.join(done)} as the solution has them, and your own cells from "
          f"{argv[1]} on. Your {argv[0]} is unchanged: open the new file to carry on.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
