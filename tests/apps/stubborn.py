"""Ignores SIGTERM, and so does the child it starts in a session of its own (as lesson 02 teaches)."""
import os
import signal
import socket
import subprocess
import sys

signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import signal, threading; "
                          "signal.signal(signal.SIGTERM, signal.SIG_IGN); threading.Event().wait()"],
                         start_new_session=True)
with open(os.environ.get("PIDFILE", os.devnull), "a") as f:
    f.write(f"{child.pid}\n")
with socket.create_server(("127.0.0.1", int(os.environ["PORT"]))) as server:
    while True:
        server.accept()[0].close()
