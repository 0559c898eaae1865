"""`course.py repeat`'s command line: runs, paths, --load and --all."""
import pytest

from coursekit.notebooks import ROOT, repeat_arguments


def test_by_default_lessons_00_to_04_twenty_times_unloaded():
    runs, load, paths = repeat_arguments([])
    assert (runs, load) == (20, 0)
    assert [p[:12] for p in paths] == [f"notebooks/0{n}" for n in range(5)]


def test_all_is_every_lesson_solution_and_the_wrong_answer_table_with_load():
    runs, load, paths = repeat_arguments(["--load", "2", "--all", "3"])
    assert (runs, load) == (3, 2)
    lessons, solutions = sorted(ROOT.glob("notebooks/*.ipynb")), sorted(ROOT.glob("solutions/*.ipynb"))
    assert len(paths) == len(lessons) + len(solutions) + 1 and paths[-1] == "tests/test_wrong_answers.py"


def test_named_paths_and_bad_options():
    assert repeat_arguments(["5", "solutions/05-solution-flask.ipynb"]) == (
        5, 0, ["solutions/05-solution-flask.ipynb"])
    with pytest.raises(ValueError, match="--load needs a number"):
        repeat_arguments(["--load"])
    with pytest.raises(ValueError, match="unknown option --fast"):
        repeat_arguments(["--fast"])
