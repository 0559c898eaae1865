"""Loaded by every pytest run in this folder, `pytest --nbval notebooks/NN-x.ipynb` included.

Kernels that pytest starts (nbval, tests/test_labs.py) answer the lessons' questions from code, as
the stored run did, so the outputs they compare are the same on every run (coursekit/questions.py).
"""
import os

from coursekit.questions import STORED_RUN

os.environ[STORED_RUN] = "1"
