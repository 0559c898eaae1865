"""A hand-written HTTP server on a plain socket: one fixed answer per connection."""
import os
import socket

with socket.create_server(("127.0.0.1", int(os.environ["PORT"]))) as server:
    while True:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(5)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n"
                         b"Connection: close\r\n\r\nsocket")
