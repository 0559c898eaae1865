"""Keeps saying its port is taken and trying again, without ever exiting (as gunicorn does)."""
import time

while True:
    print("[ERROR] Connection in use: ('127.0.0.1', 8000); retrying in 0.1 s", flush=True)
    time.sleep(0.1)
