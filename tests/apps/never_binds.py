import threading

print("starting, but never listening", flush=True)
threading.Event().wait()
