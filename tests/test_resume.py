"""Resume anywhere: a student who comes back the next day has a fresh kernel, and the files the
lesson wrote so far still on disk. After only the lesson's set-up cell, every `##` section runs
without an error: it starts the servers it needs and re-creates what it uses.

Each section runs in a kernel of its own, one after another in one folder, so the disk holds what
the earlier sections wrote (as it would for the student) and nothing else carries over."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import IPCKernelManager
from coursekit.notebooks import BREAK_TAG, SETUP_TAG, setup_and_sections

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
LONG_LESSON_MINUTES = 150  # past this, a lesson has a marked break with a recap


def errors_in(cell):
    """'Name: message' for each error the cell raised, unless it is tagged to raise one."""
    if "raises-exception" in cell.metadata.get("tags", []):
        return []
    return [f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"]


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_the_lesson_has_a_short_setup_cell_first(path):
    setup, parts = setup_and_sections(nbformat.read(path, as_version=4))
    assert setup is not None, f"tag the first code cell of {path.name} {SETUP_TAG!r} (imports only)"
    assert "%%writefile" not in setup.source and "launch(" not in setup.source, (
        "the set-up cell only imports and prepares; sections start their own servers")
    assert len(setup.source.splitlines()) <= 30, "keep the set-up cell short"
    assert parts, f"{path.name} has no ## sections"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_a_long_lesson_has_a_marked_break_with_a_recap(path):
    notebook = nbformat.read(path, as_version=4)
    if notebook.metadata.course.teaching <= LONG_LESSON_MINUTES:
        return
    breaks = [c for c in notebook.cells
              if c.cell_type == "markdown" and BREAK_TAG in c.metadata.get("tags", [])]
    assert breaks, f"{path.name} teaches {notebook.metadata.course.teaching} min: tag a break cell {BREAK_TAG!r}"
    for cell in breaks:
        assert "recap" in cell.source.lower() and "resume from the next section" in cell.source.lower(), (
            "a break recaps what was done and says: if you stop here, resume from the next section")


@pytest.mark.servers
@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_section_runs_after_only_the_setup_cell(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    setup, parts = setup_and_sections(notebook)
    assert setup is not None, f"{path.name} has no set-up cell tagged {SETUP_TAG!r}"
    failed = []
    for heading, cells in parts:
        if not cells:
            continue
        alone = nbformat.v4.new_notebook(metadata=notebook.metadata,
                                         cells=[nbformat.from_dict(dict(c)) for c in (setup, *cells)])
        NotebookClient(alone, timeout=300, kernel_name="python3", allow_errors=True,
                       kernel_manager_class=IPCKernelManager,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        for cell in alone.cells:
            for error in errors_in(cell):
                first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                failed.append(f"{heading}\n    in the cell starting {first_line!r}\n    {error}")
    assert not failed, ("these sections do not run after only the set-up cell:\n"
                        + "\n".join(failed))
