"""Slides (coursekit/slides.py): every lesson exports, offline, with a title slide and its objectives;
the slide types stored in the lessons are exactly what mark_slides gives (so they cannot drift)."""
import copy
import re
from pathlib import Path

import nbformat
import pytest

from coursekit import slides

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("slides")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_every_lesson_exports_offline_with_title_and_objectives(out, path):
    page = slides.export(path, out).read_text()
    notebook = nbformat.read(path, as_version=4)
    title = notebook.cells[0].source.splitlines()[0].lstrip("# ")
    first = page[page.index("<section"):page.index("</section>")]
    assert title.split("`")[0] in first and "Objectives" in first
    loads = re.findall(r'<(?:script|link)\b[^>]*(?:src|href)="([^"]+)"', page)
    assert loads and not [u for u in loads if re.match(r"[a-z]+:|//", u)], loads
    assert all((out / u).exists() for u in loads), loads
    notes = [c for c in notebook.cells if "instructor" in c.metadata.get("course", {})]
    assert page.count('<aside class="notes">') == len(notes)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_stored_slide_types_match_mark_slides(path):
    notebook = nbformat.read(path, as_version=4)
    assert slides.mark_slides(copy.deepcopy(notebook)) == 0, (
        f"slide types drifted: python3 course.py slides --mark notebooks/{path.name}")


def test_mark_slides_follows_structure_and_is_idempotent():
    notebook = nbformat.read(LESSONS[-1], as_version=4)
    assert slides.mark_slides(notebook) >= 0 and slides.mark_slides(notebook) == 0
    kinds = [c.metadata.slideshow.slide_type for c in notebook.cells]
    assert kinds[0] == "slide" and kinds[-1] == "skip"
    for cell, kind in zip(notebook.cells, kinds):
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            assert kind == "slide"


def test_unknown_lesson_gets_a_clear_message(capsys):
    assert slides.main(["99"]) == 2
    assert "there is no lesson '99'" in capsys.readouterr().out


def test_slides_run_in_a_browser_with_the_network_cut(out, open_page):
    html = slides.export(LESSONS[5], out)
    page = open_page("file://")
    page.goto(html.as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=20_000)
    assert page.evaluate("Reveal.getTotalSlides()") > 5
    assert page.blocked == [], page.blocked
