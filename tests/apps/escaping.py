"""Leaves its process tree: a daemon (double fork, own session) that the init process adopts.

Its pid is in PIDFILE before the port answers (the middle process writes it, and the server waits
for the middle process), so a test that reads the file once the server is ready always finds it."""
import os
import socket
import threading

if os.fork() == 0:
    os.setsid()
    daemon = os.fork()
    if daemon == 0:  # the grandchild: its parent exits at once, so it is nobody's child
        threading.Event().wait()
    with open(os.environ["PIDFILE"], "a") as f:
        f.write(f"{daemon}\n")
    os._exit(0)
os.wait()
with socket.create_server(("127.0.0.1", int(os.environ["PORT"]))) as server:
    while True:
        server.accept()[0].close()
