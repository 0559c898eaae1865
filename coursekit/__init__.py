"""The course toolkit: launch servers from notebook cells, show HTTP exchanges, check labs.

    from coursekit import launch, show, stop_all
"""
from coursekit.checks import check
from coursekit.client import show
from coursekit.checkup import doctor
from coursekit.servers import ServerError, launch, running, stop_all

__all__ = ["ServerError", "check", "checkpoint", "doctor", "launch", "running", "show", "stop_all"]


def checkpoint(number: str, folder: str = ".") -> list:
    """Catch up: the course's answers to the exercises before `number`, in this kernel and folder.
    (Imported when called, so `python -m coursekit.checkpoints` runs without a warning.)"""
    from coursekit.checkpoints import checkpoint as catch_up

    return catch_up(number, folder)
