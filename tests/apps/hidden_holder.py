"""Hands its listening socket to a process that is in neither its tree, its group nor its environment."""
import os
import socket
import subprocess
import sys

server = socket.create_server(("127.0.0.1", int(os.environ["PORT"])))
if os.fork() == 0:  # the middle process exits at once, so the holder is adopted by init
    holder = subprocess.Popen([sys.executable, "-c", "import threading, socket; "
                               f"s = socket.socket(fileno={server.fileno()}); threading.Event().wait()"],
                              env={"PATH": os.environ.get("PATH", "")}, pass_fds=[server.fileno()],
                              start_new_session=True)
    with open(os.environ["PIDFILE"], "a") as f:
        f.write(f"{holder.pid}\n")
    os._exit(0)
os.wait()
while True:
    server.accept()[0].close()
