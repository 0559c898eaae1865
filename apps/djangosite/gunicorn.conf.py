"""gunicorn reads this file from its working folder. The hook is the deploy's release step: apply
the migrations once, in the master process, before any worker answers a request."""


import os


def on_starting(server):
    import django
    from django.core.management import call_command
    from django.db import connections

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
    django.setup()
    # System checks import every module; a broken view would stop the server here with less to
    # say than the worker's own traceback in the log, on the first request.
    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    connections.close_all()  # workers are forked from here: each must open its own connection
