"""The widgets in a real JupyterLab, rendered by headless chromium (Playwright, Debian's chromium).

A notebook in a temporary folder launches a tiny server and shows the request explorer, the server
panel and one question. The browser runs the notebook, clicks Send and sees the status line; it
answers the question wrongly (the explanation shows) and then rightly (✔). The kernel runs WITHOUT
COURSEKIT_STORED_RUN, so real widgets render. The page may reach only this JupyterLab.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import nbformat
import pytest
import requests

from coursekit.questions import STORED_RUN

pytestmark = pytest.mark.servers

TOKEN = "widgets-test-token"
APP = """\
def app(environ, start_response):
    body = ("You asked for " + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""
QUESTION = dict(number="9.1", text="Which port does launch() use?", right="One the OS picks",
                wrong={"Always 8000": "8000 is a habit, and two students on one machine would collide.",
                       "Port 80": "Port 80 needs privileges, and one program at a time may hold it."})


def notebook(folder):
    """explore.ipynb: a server, the explorer, the panel, a question."""
    (folder / "tiny.py").write_text(APP)
    cells = [
        "from coursekit import launch\nfrom coursekit.widgets import explorer, server_panel\n"
        "tiny = launch('tiny.py', kind='wsgiref')\nexplorer(tiny, path='/from-the-browser')",
        "server_panel()",
        f"from coursekit.questions import question\nquestion(**{QUESTION!r})",
    ]
    book = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(book, folder / "explore.ipynb")


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on 127.0.0.1, an OS-picked port and a token, serving tmp_path; stopped afterwards."""
    notebook(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != STORED_RUN}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(tmp_path / "rt"))
    log = tmp_path / "lab.log"
    root = ["--ServerApp.allow_root=True"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.port=0",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
             f"--ServerApp.root_dir={tmp_path}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
             f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
             "--LabApp.news_url=None",  # offline: no announcements feed, no update check
             "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", *root],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        url = None
        while url is None:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            found = re.search(r"http://127\.0\.0\.1:\d+/", log.read_text())
            if found:
                url = found[0]
                try:
                    requests.get(url + "api/status", headers={"Authorization": f"token {TOKEN}"}, timeout=5)
                except requests.ConnectionError:
                    url = None
            time.sleep(0.2)
        yield url, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # JupyterLab shuts its kernels down, which stop their servers
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_explorer_sends_from_the_browser_and_a_question_answers_clicks(open_page, lab):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)

    url, log = lab
    page = open_page(url)
    page.set_default_timeout(60_000)  # a kernel start on a busy machine
    page.goto(f"{url}lab/tree/explore.ipynb?token={TOKEN}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.get_by_text("| Idle").wait_for()  # the kernel has started: cells run now, not never
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()

    explorer = page.locator(".coursekit-explorer")
    try:
        expect(explorer).to_be_visible()
    except AssertionError:
        page.screenshot(path="/tmp/widgets-fail.png")
        raise
    explorer.get_by_role("button", name="Send").click()
    expect(explorer).to_contain_text("HTTP/1.0 200 OK")
    expect(explorer).to_contain_text("You asked for /from-the-browser")
    port = int(re.search(r"Host: 127\.0\.0\.1:(\d+)", explorer.inner_text())[1])

    panel = page.locator(".coursekit-servers")
    expect(panel).to_contain_text("Status: running")
    expect(panel.locator("a", has_text=f"127.0.0.1:{port}")).to_be_visible()

    asked = page.locator(".coursekit-question")
    asked.get_by_text("Always 8000").click()
    asked.get_by_role("button", name="Check").click()
    expect(asked).to_contain_text("two students on one machine would collide")
    asked.get_by_text("One the OS picks").click()
    asked.get_by_role("button", name="Check").click()
    expect(asked).to_contain_text("✔ Right.")
    assert not [u for u in page.blocked if u.startswith("http://127.0.0.1")], page.blocked

    page.get_by_role("menuitem", name="Kernel", exact=True).click()
    page.get_by_text("Shut Down Kernel", exact=True).click()
    deadline = time.monotonic() + 30  # the kernel's exit stops its server (or its watchdog does)
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the notebook's server still listens on port {port}:\n{log.read_text()[-2000:]}")
