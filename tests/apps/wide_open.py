"""Reads PORT, but listens on every address of the machine instead of loopback only."""
import os
import socket

with socket.create_server(("0.0.0.0", int(os.environ["PORT"]))) as server:
    while True:
        server.accept()[0].close()
