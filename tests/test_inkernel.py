"""An aiohttp server on a real kernel's own loop (lesson 07) stops with stop_all() and on restart:
its port closes and its on_cleanup hooks run. Kernels are real, started with jupyter_client."""
import socket
import time

import pytest

from conftest import IPCKernelManager

START = '''
from aiohttp import web
from coursekit import stop_all
from coursekit.inkernel import keep

async def hello(request):
    return web.Response(text="hi")

async def note(app):
    with open({marker!r}, "w") as f:
        f.write("cleaned up")

app = web.Application()
app.router.add_get("/", hello)
app.on_cleanup.append(note)
runner = keep(web.AppRunner(app))
await runner.setup()
await web.TCPSite(runner, "127.0.0.1", 0).start()
print(runner.addresses[0][1])
'''


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def run(client, code):
    """Execute code in the kernel; return what it printed (a cell error fails the test)."""
    printed = []

    def hook(message):
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])
        elif message["msg_type"] == "error":
            printed.append("ERROR " + message["content"]["evalue"])
    reply = client.execute_interactive(code, timeout=30, output_hook=hook)
    assert reply["content"]["status"] == "ok", "".join(printed)
    return "".join(printed)


def gone_within(port, seconds):
    deadline = time.monotonic() + seconds
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not listening(port)


@pytest.fixture
def kernel():
    manager = IPCKernelManager(kernel_name="python3")
    manager.start_kernel()
    client = manager.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    yield manager, client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


@pytest.mark.servers
def test_restart_closes_the_port_and_runs_the_apps_cleanup(kernel, tmp_path):
    manager, client = kernel
    marker = tmp_path / "cleaned"
    port = int(run(client, START.format(marker=str(marker))))
    assert listening(port)
    manager.restart_kernel(now=False)  # what JupyterLab's "Restart Kernel" does
    assert gone_within(port, 5), "the in-kernel server still listens after a restart"
    assert marker.read_text() == "cleaned up", "the app's on_cleanup did not run at the restart"


@pytest.mark.servers
def test_stop_all_in_the_last_cell_stops_it_and_the_kernel_lives_on(kernel, tmp_path):
    _, client = kernel
    marker = tmp_path / "cleaned"
    port = int(run(client, START.format(marker=str(marker))))
    run(client, "stop_all()")
    assert gone_within(port, 5), "the in-kernel server still listens after stop_all()"
    assert run(client, "import asyncio\nawait asyncio.sleep(0.2)\nprint(open(%r).read())" % str(marker)) \
        == "cleaned up\n"
