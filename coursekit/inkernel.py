"""Keep an aiohttp server that runs on the kernel's own event loop from outliving the notebook.

A lesson starts such a server itself (AppRunner, TCPSite, top-level await); `keep(runner)` hands it
to the toolkit, so that stop_all() in the last cell and the kernel's exit (a restart, a shutdown)
run its clean-up: the listening socket closes and the app's on_cleanup hooks run.
"""
import asyncio
import atexit

from coursekit import servers

_kept = {}  # id(runner) -> (runner, its loop)
_pending = set()  # clean-up tasks under way (the loop itself keeps only weak references)


def keep(runner):
    """Register a started aiohttp AppRunner for clean-up by stop_all() and at kernel exit."""
    atexit.unregister(_clean_up)  # registered once, however often keep() is called
    atexit.register(_clean_up)
    servers.also_on_stop_all(_clean_up)
    _kept[id(runner)] = (runner, asyncio.get_running_loop())
    return runner


def _clean_up():
    """Run each kept runner's clean-up: as a task when called from a cell (it runs as soon as the
    cell returns), to its end when the loop has stopped (at the kernel's exit)."""
    for key, (runner, loop) in list(_kept.items()):
        del _kept[key]
        if loop.is_closed():
            continue
        if loop.is_running():
            task = loop.create_task(runner.cleanup())
            _pending.add(task)
            task.add_done_callback(_pending.discard)
        else:
            loop.run_until_complete(asyncio.wait_for(runner.cleanup(), 2))
