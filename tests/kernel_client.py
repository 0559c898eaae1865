"""Drive a kernel in a running Jupyter server over its REST API and websocket, as JupyterLab does.

Used by the tests that run a real JupyterHub or `course.py start`: the code runs in a kernel that
the server started, in the server's environment, not in one the test started itself.
"""
import json
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import requests
from websockets.sync.client import connect


class KernelClient:
    """A session (notebook path + kernel) on a Jupyter server; run() executes code in it."""

    def __init__(self, base, notebook, token, timeout=60):
        self.base, self.headers = base, {"Authorization": f"token {token}"}  # base ends with /
        answer = requests.post(f"{base}api/sessions", headers=self.headers, timeout=timeout, json={
            "path": notebook, "type": "notebook", "name": Path(notebook).name,
            "kernel": {"name": "python3"}})
        assert answer.status_code == 201, answer.text
        self.session, self.kernel_id = answer.json()["id"], answer.json()["kernel"]["id"]
        self.closing = ExitStack()  # websockets wants its connection used as a context manager
        ws = base.replace("http://", "ws://", 1)
        self.ws = self.closing.enter_context(connect(
            f"{ws}api/kernels/{self.kernel_id}/channels?session_id={uuid.uuid4().hex}",
            additional_headers=self.headers, open_timeout=timeout, max_size=None))

    def run(self, code, seconds=300):
        """Execute code; return (stdout, error or None). An error reads 'Name: message'."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test",
                       "session": self.session, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        stdout, error, replied, idle = [], None, False, False
        deadline = time.monotonic() + seconds
        while not (replied and idle):
            left = deadline - time.monotonic()
            assert left > 0, f"no answer within {seconds} s to:\n{code[:300]}"
            message = json.loads(self.ws.recv(timeout=left))
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream" and content["name"] == "stdout":
                stdout.append(content["text"])
            elif kind == "error":
                error = f"{content['ename']}: {content['evalue']}"
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
        return "".join(stdout), error

    def close(self):
        """Close the websocket and end the session (the server shuts its kernel down)."""
        self.closing.close()
        requests.delete(f"{self.base}api/sessions/{self.session}", headers=self.headers, timeout=30)
