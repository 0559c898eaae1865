"""Loaded by every pytest run in this folder, `pytest --nbval notebooks/NN-x.ipynb` included.

Kernels that pytest starts (nbval, tests/test_labs.py) answer the lessons' questions from code, as
the stored run did, so the outputs they compare are the same on every run (coursekit/questions.py).
"""
import os
import secrets

from coursekit.questions import STORED_RUN

os.environ[STORED_RUN] = "1"
# The Django projects of lesson and lab 08 refuse to start without a secret key, and speak plain HTTP
# on 127.0.0.1 only when told: servers that tests start get both, as the notebooks' set-up cells give them.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_PLAIN_HTTP", "1")
