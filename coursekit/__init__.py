"""The course toolkit: launch servers from notebook cells, show HTTP exchanges, check labs.

    from coursekit import launch, show, stop_all
"""
from coursekit.checkpoints import checkpoint
from coursekit.checks import check
from coursekit.client import show
from coursekit.checkup import doctor
from coursekit.servers import ServerError, launch, running, stop_all

__all__ = ["ServerError", "check", "checkpoint", "doctor", "launch", "running", "show", "stop_all"]
