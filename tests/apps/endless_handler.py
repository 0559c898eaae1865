def app(environ, start_response):
    while True:  # a student's infinite loop
        pass
