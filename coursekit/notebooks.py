"""Maintain the course's notebooks: re-execute them, generate labs from solutions, print the map.

    python -m coursekit.notebooks refresh [NOTEBOOK ...]   # or: python3 course.py refresh
    python -m coursekit.notebooks labs                     # or: python3 course.py labs
"""
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_BLOCK = re.compile(r"^([ \t]*)# BEGIN SOLUTION\n.*?^[ \t]*# END SOLUTION\n?", re.M | re.S)
SOLUTION_LINE = re.compile(r"^([ \t]*[\w.\[\]\"']+ = ).*?\s*# SOLUTION$", re.M)


def starter_source(source):
    """A solution cell's code with the answers taken out and `...` left in their place."""
    source = SOLUTION_BLOCK.sub(lambda m: f"{m.group(1)}...\n", source)
    return SOLUTION_LINE.sub(lambda m: f"{m.group(1)}...", source)


def lab_from_solution(solution):
    """The lab notebook generated from its solution twin: answers removed, outputs cleared."""
    import nbformat

    lab = nbformat.from_dict(solution)
    for cell in lab.cells:
        if cell.cell_type == "code":
            cell.source = starter_source(cell.source)
            cell.outputs = []
            cell.execution_count = None
    return lab


def write_labs(solutions=()):
    """Regenerate labs/NN-title.ipynb from solutions/NN-title.ipynb (all, or the ones named)."""
    import nbformat

    for solution_path in solutions or sorted((ROOT / "solutions").glob("*.ipynb")):
        solution_path = Path(solution_path).resolve()
        lab = lab_from_solution(nbformat.read(solution_path, as_version=4))
        nbformat.write(lab, ROOT / "labs" / solution_path.name)
        print(f"labs/{solution_path.name}")


def execute(path, timeout=300):
    """Run a notebook top to bottom in its own folder and save it with fresh outputs."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.setdefault("IPYKERNEL_CELL_NAME", "<IPY-INPUT>")
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


def course_map():
    """Print the lessons and labs in order with what each teaches and its minutes (from metadata)."""
    import nbformat

    total = 0
    for folder in ("notebooks", "labs"):
        print("Lessons" if folder == "notebooks" else "\nLabs")
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            info = nbformat.read(path, as_version=4).metadata.get("course", {})
            minutes = info.get("teaching", 0) + info.get("exercises", 0)
            total += minutes
            print(f"  {path.stem:<32} {minutes:>4} min  {info.get('summary', '')}")
    print(f"\nIn all about {total // 60} h {total % 60} min.")


def main(argv):
    if argv[:1] == ["refresh"]:
        refresh(argv[1:])
    elif argv[:1] == ["labs"]:
        write_labs()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
