"""Serves, and prints about 20 MB a second for ever (a debug print left in a loop)."""
import os
import socket
import sys
import threading
import time


def chatter():
    line = "chatter " + "x" * 1000 + "\n"
    while True:
        sys.stdout.write(line * 1000)
        time.sleep(0.05)


threading.Thread(target=chatter, daemon=True).start()
with socket.create_server(("127.0.0.1", int(os.environ["PORT"]))) as server:
    while True:
        server.accept()[0].close()
