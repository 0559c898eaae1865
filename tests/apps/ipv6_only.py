"""Reads PORT, but listens on IPv6's loopback (::1) only, which 127.0.0.1 does not reach."""
import os
import socket

with socket.create_server(("::1", int(os.environ["PORT"])), family=socket.AF_INET6) as server:
    while True:
        server.accept()[0].close()
