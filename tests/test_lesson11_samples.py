"""Lesson 11's samples, taken from the notebook's %%writefile cells: the attack the lesson shows on an
unsalted table succeeds there and fails on the lesson's password storage, and its HTTP Basic server
answers every bad credential with a 401 challenge (never a 500)."""
import hashlib
import importlib.util
import secrets
from pathlib import Path

import nbformat
import pytest

from coursekit.servers import launch, stop_all

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "11-auth-and-security.ipynb"
WORDS = [f"{word}{number}" for word in ("monkey", "dragon", "letmein") for number in range(100)]


@pytest.fixture
def apps(tmp_path):
    """The lesson's files, written as its cells write them, in a fresh folder."""
    folder = tmp_path / "apps"
    folder.mkdir()
    for cell in nbformat.read(LESSON, as_version=4).cells:
        first, _, body = cell.source.partition("\n")
        if cell.cell_type == "code" and first.startswith("%%writefile apps/"):
            (tmp_path / first.split()[1]).write_text(body)
    return folder


def passwords_module(apps):
    spec = importlib.util.spec_from_file_location("lesson11_passwords", apps / "passwords.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_precomputed_table_cracks_unsalted_sha256_but_not_the_lessons_scrypt(apps):
    passwords = passwords_module(apps)
    table = {hashlib.sha256(word.encode()).hexdigest(): word for word in WORDS}
    unsafe = hashlib.sha256(b"monkey42").hexdigest()
    assert table.get(unsafe) == "monkey42"  # the unsafe store gives the password away
    safe = passwords.hash_password("monkey42", n=2**10)
    assert safe not in table and safe.split("$")[-1] not in table
    assert safe != passwords.hash_password("monkey42", n=2**10)  # equal passwords do not show
    assert passwords.verify_password("monkey42", safe) and not passwords.verify_password("monkey43", safe)
    assert passwords.needs_rehash(safe) and not passwords.needs_rehash(passwords.hash_password("x"))
    assert passwords.verify_password("x", "scrypt$not$a$valid$form$") is False


@pytest.mark.servers
def test_the_basic_server_challenges_every_bad_credential_with_401(apps, monkeypatch):
    monkeypatch.chdir(apps.parent)
    passwords = passwords_module(apps)
    password = secrets.token_urlsafe(12)
    try:
        server = launch("apps/basic_auth.py", kind="wsgiref", name="lesson11_basic", quiet=True,
                        env={"BASIC_USER": "ada", "BASIC_HASH": passwords.hash_password(password, n=2**10),
                             "PYTHONPATH": str(apps)})
        assert server.get("/", auth=("ada", password)).status_code == 200
        for headers in ({}, {"Authorization": "Basic !!"}, {"Authorization": "Basic " + "w4A="},
                        {"Authorization": "Bearer x"}, {"Authorization": "Basic YWRh"}):  # none, garbled, no colon
            answer = server.get("/", headers=headers)
            assert answer.status_code == 401, (headers, answer.status_code)
            assert answer.headers["WWW-Authenticate"].startswith("Basic realm=")
        assert server.get("/", auth=("ada", password + "x")).status_code == 401
        assert server.get("/", auth=("eve", password)).status_code == 401
    finally:
        stop_all()


@pytest.mark.servers
def test_a_wordlist_attack_finds_the_password_without_a_limit_and_gets_429_with_one(apps, monkeypatch):
    monkeypatch.chdir(apps.parent)
    passwords = passwords_module(apps)
    guesses = [f"monkey{number}" for number in range(12)]  # bounded, against servers started here only
    env = {"BASIC_USER": "ada", "BASIC_HASH": passwords.hash_password("monkey9", n=2**10), "PYTHONPATH": str(apps)}
    try:
        weak = launch("apps/basic_auth.py", kind="wsgiref", name="lesson11_weak", quiet=True, env=env)
        assert [weak.get("/", auth=("ada", guess)).status_code for guess in guesses].count(200) == 1
        limited = launch("apps/basic_limited.py", kind="wsgiref", name="lesson11_limited", quiet=True, env=env)
        codes = [limited.get("/", auth=("ada", guess)).status_code for guess in guesses]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}  # the right guess, 10th, never gets in
        refused = limited.get("/", auth=("ada", "monkey9"))
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert refused.headers["Content-Type"] == "application/json"
    finally:
        stop_all()
