"""Questions inside a lesson: predict, then run. Each wrong option names the misconception behind it.

    question("3.2", "What does close() do on a generator that has run out?",
             right="Nothing: its finally block has already run",
             wrong={"Runs the finally block a second time": "A finished generator has no frame left..."})

In JupyterLab the question is a set of radio buttons with a Check button. In the stored run that
nbval compares (COURSEKIT_STORED_RUN=1, set by the test suite and by `course.py refresh`), every option
is answered from code and one deterministic line says so, without giving the answer away.
"""
import hashlib
import os
from dataclasses import dataclass, field

from coursekit.checks import FAIL_MARK, PASS_MARK

STORED_RUN = "COURSEKIT_STORED_RUN"  # set where notebooks are executed to be stored or compared


@dataclass
class Question:
    """One multiple-choice question: the right option, and each wrong one with why it is wrong."""

    number: str
    text: str
    right: str
    wrong: dict
    why: str = ""  # said after the right answer: the fact the question is about
    options: list = field(init=False)

    def __post_init__(self):
        if not self.wrong or not all(isinstance(v, str) and v.strip() for v in self.wrong.values()):
            raise ValueError(f"question {self.number}: every wrong option needs its own explanation")
        if self.right in self.wrong:
            raise ValueError(f"question {self.number}: the right option is also listed as wrong")
        # A fixed order that does not give the answer away by always putting it first.
        self.options = sorted([self.right, *self.wrong],
                              key=lambda o: hashlib.sha256(f"{self.number}{o}".encode()).hexdigest())

    def feedback(self, choice: str) -> str:
        """What a student who picked `choice` is told."""
        if choice == self.right:
            return f"{PASS_MARK} Right. {self.why}".rstrip()
        if choice in self.wrong:
            return f"{FAIL_MARK} Not quite. {self.wrong[choice]}"
        return "Pick one of the options first."

    def letter(self, option: str) -> str:
        return "abcdefgh"[self.options.index(option)]

    def as_text(self) -> str:
        lines = [f"Question {self.number}: {self.text}"]
        lines += [f"  {self.letter(o)}) {o}" for o in self.options]
        lines.append(f'Answer with answer("{self.number}", "a") (or the letter you choose).')
        return "\n".join(lines)

    def stored_run_summary(self) -> str:
        """Answer every option from code; say so in one line that is the same on every run."""
        results = [self.feedback(o) for o in self.options]
        assert sum(r.startswith(PASS_MARK) for r in results) == 1, f"question {self.number}"
        assert sum(r.startswith(FAIL_MARK) for r in results) == len(self.wrong), f"question {self.number}"
        return (f"Question {self.number}: {len(self.options)} options, each answered in the stored run "
                f"(1 right; {len(self.wrong)} wrong, each explained). Run the cell to answer it yourself.")

    def widget(self):
        """Radio buttons, a Check button and the feedback below them (ipywidgets)."""
        import ipywidgets as w

        choices = w.RadioButtons(options=[(f"{self.letter(o)}) {o}", o) for o in self.options],
                                 value=None, layout=w.Layout(width="auto"),
                                 style={"description_width": "initial"})
        button = w.Button(description="Check", button_style="primary")
        said = w.HTML()

        def on_check(_):
            said.value = f"<p>{_escape(self.feedback(choices.value))}</p>"

        button.on_click(on_check)
        box = w.VBox([w.HTML(f"<b>Question {self.number}.</b> {_escape(self.text)}"),
                      choices, button, said])
        box.add_class("coursekit-question")
        box.choices, box.button, box.said = choices, button, said
        return box


ASKED = {}


def _escape(text: str) -> str:
    import html
    return html.escape(text).replace("`", "")


def question(number: str, text: str, right: str, wrong: dict, why: str = "") -> Question:
    """Show a question (widget in JupyterLab; a summary line in the stored run) and return it."""
    asked = ASKED[number] = Question(number, text, right, wrong, why)
    if os.environ.get(STORED_RUN) == "1":
        print(asked.stored_run_summary())
        return None
    try:
        from IPython.display import display
        display(asked.widget())
    except ImportError:
        print(asked.as_text())
    return None


def answer(number: str, letter: str) -> None:
    """Answer a question in plain text (for front ends that do not show widgets)."""
    asked = ASKED.get(number)
    if asked is None:
        print(f"Run the cell with question {number} first.")
        return
    index = "abcdefgh".find(letter.strip().lower()[:1])
    if not 0 <= index < len(asked.options):
        print(f"Choose a letter from a to {'abcdefgh'[len(asked.options) - 1]}.")
        return
    print(asked.feedback(asked.options[index]))
