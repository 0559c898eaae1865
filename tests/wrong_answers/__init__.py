"""The wrong-answer table: what each lab's checks must say to the mistakes students really make.

Every lab, 00 to 08 and on, has one module here, `labNN.py`, holding `ANSWERS`, a list of rows:

    from wrong_answers import Answer

    SOLUTION = "03-solution-wsgi-by-hand.ipynb"          # the solution notebook the rows are edits of
    ANSWERS = [
        Answer("3.2", "catch_errors puts the exception's message in the body",
               edit=[('return [b"Internal Server Error\\n"]',
                      'return [str(sys.exc_info()[1]).encode()]')],
               says=["a body without the exception's message"]),
        Answer("3.2", "a valid variation: catch_errors written as a class",
               edit=[...], passes=True),
    ]

- `exercise`: the check("N.M") the row is run against (the solution's own check cell is used);
- `edit`: (old, new) replacements in the solution notebook's code cells. A row is the reference
  solution with one mistake (or one valid variation); each `old` must occur exactly once;
- `says`: text the report must contain: the words that name the real cause (usually the hint);
  a row with `says` must also fail at least one part;
- `never`: text the report must not contain (a hint that would point at the wrong cause);
- `passes=True`: a valid answer, written differently from the reference: every part must pass.

tests/test_wrong_answers.py runs each lab's rows in one real kernel: it runs the solution's cells
once, then for each row runs the edited cells and the check, puts the original cells back, and
asserts that nothing the check or the answer started is still running (servers, processes,
threads). A new lab adds its module here and its name to LABS in that test.

An `old` text must be unique across all the solution's code cells, not only in its file: where a
later cell rewrites a file an earlier one wrote (lab 05's 5.2 rewrites bookmarks_db.py), quote a
line only the cell you mean has. To swap a whole file, read both versions from the solution
notebook in the lab's module and use them as (old, new), as lab05.py does for its stand-in store.

Porting a table written as plain data (a list of dicts with "exercise", "label", the file whose
cell is changed, (old, new), "hint", "valid"; lab 05's first table was one): each dict becomes
`Answer(exercise, label, edit=[(old, new)], says=[hint])`, or `passes=True` for valid=True; keep
the label and the hint word for word, so the row still names the same mistake and cause; drop the
in-process test that drove it (the kernel runner here replaces it), add the lab to LABS, and run
`python3 course.py test tests/test_wrong_answers.py -k labNN` to see every row judged.
"""
from dataclasses import dataclass, field


@dataclass
class Answer:
    exercise: str
    name: str
    edit: list = field(default_factory=list)
    says: list = field(default_factory=list)
    never: list = field(default_factory=list)
    passes: bool = False
