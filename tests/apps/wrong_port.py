"""Ignores PORT and listens on a port of its own choosing (the OS's)."""
import socket
import threading

server = socket.create_server(("127.0.0.1", 0))
print("listening on", server.getsockname()[1], flush=True)
threading.Event().wait()
