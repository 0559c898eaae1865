"""Lab 11's wrong answers (format: tests/wrong_answers/__init__.py)."""
from wrong_answers import Answer

SOLUTION = "11-solution-auth-and-security.ipynb"

ANSWERS = [
    Answer("11.1", "one salt for every password",
           edit=[("    salt = secrets.token_bytes(16)\n    digest = hashlib.pbkdf2_hmac",
                  "    salt = b'0123456789abcdef'\n    digest = hashlib.pbkdf2_hmac")],
           says=["new salt"]),
    Answer("11.1", "a plain SHA-256 of salt and password",
           edit=[('digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)',
                  "digest = hashlib.sha256(salt + password.encode()).digest()")],
           says=["pbkdf2_hmac"]),
    Answer("11.1", "the iterations not written in the stored form",
           edit=[('return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"',
                  'return f"pbkdf2_sha256${salt.hex()}${digest.hex()}"')],
           says=["Join four parts"]),
    Answer("11.1", "valid: the stored form built with '$'.join",
           edit=[('return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"',
                  'return "$".join(["pbkdf2_sha256", str(iterations), salt.hex(), digest.hex()])')],
           passes=True),

    Answer("11.2", "hashes compared with ==",
           edit=[('return scheme == "pbkdf2_sha256" and hmac.compare_digest(again, expected)',
                  'return scheme == "pbkdf2_sha256" and again == expected')],
           says=["compare_digest"]),
    Answer("11.2", "a malformed stored form raises",
           edit=[('''    try:
        scheme, iterations, salt, digest = stored.split("$")
        again = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
        expected = bytes.fromhex(digest)
    except ValueError:
        return False
''', '''    scheme, iterations, salt, digest = stored.split("$")
    again = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    expected = bytes.fromhex(digest)
''')],
           says=["Catch ValueError"]),
    Answer("11.2", "today's ITERATIONS used instead of the stored ones",
           edit=[("bytes.fromhex(salt), int(iterations))", "bytes.fromhex(salt), ITERATIONS)")],
           says=["with its salt and iterations"]),
    Answer("11.2", "valid: compare_digest imported by name",
           edit=[("import hmac\n", "import hmac\nfrom hmac import compare_digest\n"),
                 ("and hmac.compare_digest(again, expected)", "and compare_digest(again, expected)")],
           passes=True),

    Answer("11.3", "no rehash on login",
           edit=[("    if int(stored.split(\"$\")[1]) < ITERATIONS:\n        users[name] = pbkdf2_hash(password)\n", "")],
           says=["store pbkdf2_hash(password)"]),
    Answer("11.3", "rehash before the password is checked",
           edit=[('''    stored = users.get(name)
    if stored is None or not pbkdf2_verify(password, stored):''', '''    stored = users.get(name)
    if stored is not None and int(stored.split("$")[1]) < ITERATIONS:
        users[name] = pbkdf2_hash(password)
    if stored is None or not pbkdf2_verify(password, stored):''')],
           says=["Rehash only after the password was verified"]),
    Answer("11.3", "an unknown user raises KeyError",
           edit=[("    stored = users.get(name)\n    if stored is None or not", "    stored = users[name]\n    if not")],
           says=["users.get(name) is None"]),
    Answer("11.3", "valid: rehash whenever the iterations differ from ITERATIONS",
           edit=[('if int(stored.split("$")[1]) < ITERATIONS:', 'if int(stored.split("$")[1]) != ITERATIONS:')],
           passes=True),
]

ANSWERS += [
    Answer("11.4", "the refill is not capped",
           edit=[("tokens = min(CAPACITY, tokens + (now - then) * PER_SECOND)", "tokens = tokens + (now - then) * PER_SECOND")],
           says=["min(CAPACITY"]),
    Answer("11.4", "one bucket for every key",
           edit=[("    tokens, then = buckets.get(key, (CAPACITY, now))\n", "    key = 'all'\n    tokens, then = buckets.get(key, (CAPACITY, now))\n")],
           says=["one (tokens, when) pair per key"]),
    Answer("11.4", "no refill",
           edit=[("tokens = min(CAPACITY, tokens + (now - then) * PER_SECOND)", "tokens = min(CAPACITY, tokens)")],
           says=["(now - then) * PER_SECOND"]),
    Answer("11.4", "refused with a fixed wait of 1",
           edit=[("    return math.ceil((1 - tokens) / PER_SECOND)\n", "    return 1 if tokens < 1 else 0\n")],
           passes=True),
]
