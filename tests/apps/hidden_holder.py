"""Hands its listening socket to a process that is in neither its tree, its group nor its environment.

The socket listens only once the holder runs and its pid is in PIDFILE: launch() returns when the
port answers, and a stop() that came earlier would kill the middle process before it wrote the pid."""
import os
import socket
import subprocess
import sys

server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(os.environ["PORT"])))
if os.fork() == 0:  # the middle process exits at once, so the holder is adopted by init
    holder = subprocess.Popen([sys.executable, "-c", "import threading, socket; "
                               f"s = socket.socket(fileno={server.fileno()}); threading.Event().wait()"],
                              env={"PATH": os.environ.get("PATH", "")}, pass_fds=[server.fileno()],
                              start_new_session=True)
    with open(os.environ["PIDFILE"], "a") as f:
        f.write(f"{holder.pid}\n")
    os._exit(0)
os.wait()
server.listen()  # the same socket the holder has: it listens for both
while True:
    server.accept()[0].close()
