"""Leaves its process tree: a daemon (double fork, own session) that the init process adopts."""
import os
import socket
import threading

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:  # the grandchild: its parent exits at once, so it is nobody's child
        with open(os.environ["PIDFILE"], "a") as f:
            f.write(f"{os.getpid()}\n")
        threading.Event().wait()
    os._exit(0)
os.wait()
with socket.create_server(("127.0.0.1", int(os.environ["PORT"]))) as server:
    while True:
        server.accept()[0].close()
