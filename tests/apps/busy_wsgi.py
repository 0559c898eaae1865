def app(environ, start_response):
    print("handling /", flush=True)
    while True:  # a busy gunicorn sync worker: its master waits 30 s for it after SIGTERM
        pass
