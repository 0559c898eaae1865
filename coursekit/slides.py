"""A lesson as Reveal.js slides, from the same notebook, working offline.

    python3 course.py slides 05          # writes build/slides/05-flask.slides.html (git-ignored)
    python3 course.py slides all         # every lesson
    python3 course.py slides --mark notebooks/05-flask.ipynb   # maintainers: store the slide types

Which cell starts a slide comes from the notebook's structure (mark_slides): the title cell and
each ## section start a slide, ### a sub-slide, code cells appear as fragments. Instructor notes
(cell metadata course.instructor) become speaker notes (press S). reveal.js is copied from the
pinned sphinx-revealjs package into build/slides/reveal.js/, so nothing is loaded from a CDN.
"""
import copy
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path("build") / "slides"  # under the course folder; git-ignored
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "offline-reveal"
REVEAL_FOLDER = "reveal.js"  # beside the slides
LONG_CODE = 12  # a code cell of more lines than this gets a sub-slide of its own


def slide_type(cell, index: int) -> str:
    """The Reveal slide type a cell gets from where it stands in the lesson."""
    first = cell.source.lstrip().splitlines()[0] if cell.source.strip() else ""
    if index == 0:
        return "slide"  # the title, with the objectives
    if cell.cell_type == "markdown":
        if re.match(r"#{1,2} ", first):
            return "slide"
        if first.startswith("### "):
            return "subslide"
        return "-"
    if cell.cell_type == "code":
        if not cell.source.strip() or cell.source.strip() == "stop_all()":
            return "skip"  # nothing to show: the clean-up cell
        return "subslide" if len(cell.source.splitlines()) > LONG_CODE else "fragment"
    return "skip"  # raw cells


def mark_slides(notebook) -> int:
    """Set every cell's metadata.slideshow.slide_type from the notebook's structure; return how many
    cells changed (0 when it was already marked: running it twice changes nothing)."""
    changed = 0
    for index, cell in enumerate(notebook.cells):
        wanted = slide_type(cell, index)
        if cell.metadata.get("slideshow", {}).get("slide_type") != wanted:
            cell.metadata["slideshow"] = {**cell.metadata.get("slideshow", {}), "slide_type": wanted}
            changed += 1
    return changed


def with_speaker_notes(notebook):
    """A marked copy of the notebook with each instructor note as a speaker-notes cell after its cell."""
    import nbformat

    shown = copy.deepcopy(notebook)
    mark_slides(shown)
    cells = []
    for cell in shown.cells:
        cells.append(cell)
        note = cell.metadata.get("course", {}).get("instructor")
        if note:
            cells.append(nbformat.v4.new_markdown_cell(
                f"**Instructor:** {note}", metadata={"slideshow": {"slide_type": "notes"}}))
    shown.cells = cells
    return shown


NEEDS_MAINTAINER_LOCK = ("Slides need sphinx-revealjs, which only the maintainer lock installs. "
                         "Run `python3 course.py slides NN`: it installs that lock first.")


def copy_reveal(out: Path) -> Path:
    """Copy reveal.js (dist/ and the notes plugin) from the pinned sphinx-revealjs package."""
    try:
        import sphinx_revealjs
    except ModuleNotFoundError:  # a student environment: the maintainer lock has it
        raise SystemExit(NEEDS_MAINTAINER_LOCK) from None

    source = Path(sphinx_revealjs.__file__).parent / "_static" / "revealjs"
    target = out / REVEAL_FOLDER
    for part in ("dist", "plugin/notes", "LICENSE"):
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / part, target / part)
    return target


def lesson_path(number: str, root: Path = ROOT) -> Path:
    """notebooks/NN-*.ipynb for a lesson number such as "5" or "05"."""
    found = sorted((root / "notebooks").glob(f"{number.zfill(2)}-*.ipynb")) if number.isdigit() else []
    if len(found) != 1:
        names = ", ".join(p.name[:2] for p in sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb")))
        raise ValueError(f"there is no lesson {number!r}; name one of {names} (or all)")
    return found[0]


def export(path: Path, out: Path) -> Path:
    """Write one lesson as slides into `out` (with reveal.js beside it); return the HTML file."""
    import nbformat
    from nbconvert import SlidesExporter

    notebook = with_speaker_notes(nbformat.read(path, as_version=4))
    exporter = SlidesExporter(template_name=TEMPLATE, extra_template_basedirs=[str(TEMPLATES)],
                              reveal_url_prefix=REVEAL_FOLDER, reveal_theme="white")
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": path.stem}})
    out.mkdir(parents=True, exist_ok=True)
    copy_reveal(out)
    target = out / f"{path.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def store_marks(paths) -> None:
    """Maintainers: store the slide types in the notebooks (metadata only; outputs untouched)."""
    import nbformat

    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        changed = mark_slides(notebook)
        if changed:
            nbformat.write(notebook, path)
        print(f"{path}: {changed} cell(s) marked")


def main(argv) -> int:
    usage = ("usage: python3 course.py slides NN [NN ...] | all\n"
             "       python3 course.py slides --mark notebooks/NN-title.ipynb [...]")
    if argv[:1] == ["--mark"] and len(argv) > 1:
        store_marks([Path(p) for p in argv[1:]])
        return 0
    if not argv or argv[0].startswith("-"):
        print(usage)
        return 2
    try:
        lessons = (sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")) if argv == ["all"]
                   else [lesson_path(n) for n in argv])
    except ValueError as error:
        print(error)
        return 2
    for lesson in lessons:
        print(export(lesson, ROOT / OUT).relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
