"""Every lesson exports as Reveal.js slides that work offline, with a title slide and its objectives,
and the slide types stored in the notebooks are the ones mark_slides gives (so they cannot drift)."""
import copy
import re
from pathlib import Path

import nbformat
import pytest

from coursekit.slides import REVEAL_FOLDER, export, mark_slides

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_stored_slide_types_are_what_mark_slides_gives(path):
    notebook = nbformat.read(path, as_version=4)
    assert mark_slides(copy.deepcopy(notebook)) == 0, (
        f"{path.name}: slide types are stale; run python3 course.py slides --mark {path.relative_to(ROOT)}")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_export_has_a_title_slide_with_objectives_and_loads_nothing_from_the_web(path, tmp_path):
    html = export(path, tmp_path).read_text()
    first = html.split("<div class=\"slides\">", 1)[1].split("</section>", 1)[0]
    title = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0].lstrip("# ").strip()
    assert title.split(":")[0] in first and "Objectives" in first, "the first slide is not the title"
    assert html.count("<section") > 5, "the lesson was not split into slides"
    assert not re.search(r"""<[a-z]+[^<>]*\s(src|href)=["']https?://""", html), "the slides load something from the web"
    assert (tmp_path / REVEAL_FOLDER / "dist" / "reveal.js").exists(), "reveal.js was not copied beside"
    notes = [c for c in nbformat.read(path, as_version=4).cells if c.metadata.get("course", {}).get("instructor")]
    if notes:
        assert 'class="notes"' in html or "<aside" in html, "instructor notes are not speaker notes"


def test_slides_render_in_a_real_browser_without_the_network(browser, tmp_path):
    html = export(ROOT / "notebooks" / "03-wsgi-by-hand.ipynb", tmp_path)
    page = browser.new_page()
    reached = []
    page.on("request", lambda request: reached.append(request.url))
    page.goto(html.as_uri())
    page.wait_for_function("typeof Reveal !== 'undefined' && Reveal.isReady()", timeout=20_000)
    assert page.evaluate("Reveal.getTotalSlides()") > 5
    assert "WSGI" in page.locator(".reveal .slides section").first.inner_text()
    assert all(url.startswith("file:") for url in reached), [u for u in reached if not u.startswith("file:")]
    page.close()
