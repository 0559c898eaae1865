"""A student's server that ignores PORT and binds a fixed port that is already taken."""
import os
import socket

socket.socket().bind(("127.0.0.1", int(os.environ["TAKEN_PORT"])))
