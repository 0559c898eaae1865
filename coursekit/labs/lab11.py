"""Lab 11, password storage: PBKDF2 hashes with a salt and their parameters, a constant-time
verify, and a rehash on login. Checked in the kernel, with the check's own PBKDF2 as reference."""
import hashlib

from coursekit.checks import exercise

SCHEME = "pbkdf2_sha256"
FAST = 1_000  # iterations the checks ask for, so that they run in well under a second


def reference(password, iterations, salt):
    """The stored form the exercise describes, made here to test the student's verify and login."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def names_used(function):
    """The global and attribute names a function's code uses (hmac.compare_digest gives both),
    read from its code object: a function defined in a notebook cell may have no source file."""
    code = getattr(function, "__code__", None)
    return set(code.co_names) if code else set()


@exercise("11.1")
def hashing(t, pbkdf2_hash):
    t.answered(pbkdf2_hash, "pbkdf2_hash", probe=lambda: pbkdf2_hash("probe", FAST))
    with t.part("pbkdf2_hash returns pbkdf2_sha256$ITERATIONS$SALT$HASH", required=True,
                hint="Join four parts with '$': the scheme name, the iterations, salt.hex() and digest.hex()."):
        stored = pbkdf2_hash("correct horse", FAST)
        parts = stored.split("$") if isinstance(stored, str) else []
        t.expect(len(parts) == 4 and parts[0] == SCHEME and parts[1] == str(FAST),
                 f"{SCHEME}${FAST}$...$...", repr(stored)[:80])
    with t.part("the salt is 16 random bytes (32 hex characters)",
                hint="Draw 16 bytes with secrets.token_bytes and write them with .hex()."):
        t.expect(len(parts[2]) == 32, "32 hex characters", f"{len(parts[2])} characters")
    with t.part("hashing the same password twice gives two different stored forms",
                hint="Draw a new salt inside pbkdf2_hash on every call, not once outside it."):
        t.expect(pbkdf2_hash("correct horse", FAST) != pbkdf2_hash("correct horse", FAST),
                 "two different stored forms", "the same one twice")
    with t.part("the hash is PBKDF2-HMAC-SHA256 of the password with that salt and those iterations",
                hint='Use hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations).'):
        salt = bytes.fromhex(parts[2])
        t.expect(stored == reference("correct horse", FAST, salt), "the hash pbkdf2_hmac gives",
                 "another value")
    with t.part("the iterations argument is used", hint="Pass `iterations` to pbkdf2_hmac and write it in the result."):
        t.expect(pbkdf2_hash("x", 2_000).split("$")[1] == "2000", "2000 in the stored form", "another figure")


@exercise("11.2")
def verifying(t, pbkdf2_verify):
    stored = reference("correct horse", FAST, b"0123456789abcdef")
    t.answered(pbkdf2_verify, "pbkdf2_verify", probe=lambda: pbkdf2_verify("probe", stored))
    with t.part("the right password is accepted", required=True,
                hint="Split the stored form on '$' and hash the password again with its salt and iterations."):
        t.equal(pbkdf2_verify("correct horse", stored), True)
    with t.part("a wrong password is refused", hint="Return the result of comparing the two hashes."):
        t.equal(pbkdf2_verify("correct horsE", stored), False)
    with t.part("the stored iterations are used, not ITERATIONS",
                hint="Read the iterations from the stored form: old hashes were made with fewer."):
        t.equal(pbkdf2_verify("pw", reference("pw", 1_500, b"fedcba9876543210")), True)
    with t.part("the hashes are compared with hmac.compare_digest",
                hint="== stops at the first differing byte and leaks timing; use hmac.compare_digest."):
        t.expect("compare_digest" in names_used(pbkdf2_verify), "hmac.compare_digest", "no compare_digest")
    for bad in ("", "pbkdf2_sha256$1000$zz$00", "md5$1$00$00", "pbkdf2_sha256$many$00$00"):
        with t.part(f"a malformed stored form {bad!r} gives False, not an exception",
                    hint="Catch ValueError around the parsing and return False; check the scheme's name too."):
            try:
                got = pbkdf2_verify("pw", bad)
            except Exception as error:  # the part names what was raised
                got = f"{type(error).__name__}: {error}"
            t.equal(got, False)


@exercise("11.3")
def logging_in(t, login):
    namespace = getattr(login, "__globals__", {})
    iterations = namespace.get("ITERATIONS")
    verify = namespace.get("pbkdf2_verify")
    t.answered(login, "login", probe=lambda: login({}, "nobody", "x"))
    with t.part("ITERATIONS and pbkdf2_verify are defined beside login", required=True,
                hint="Run the exercise 11.1 and 11.2 cells first."):
        t.expect(isinstance(iterations, int) and callable(verify), "both defined", "missing")
    old = reference("correct horse", FAST, b"0123456789abcdef")
    with t.part("the right password logs in", required=True, hint="Return True when pbkdf2_verify accepts it."):
        t.equal(login({"ada": old}, "ada", "correct horse"), True)
    with t.part("a wrong password and an unknown user are refused",
                hint="Return False when the user is missing (users.get(name) is None) or verify fails."):
        t.equal((login({"ada": old}, "ada", "wrong"), login({"ada": old}, "eve", "correct horse")), (False, False))
    with t.part("a stored form with fewer iterations is replaced by one with ITERATIONS",
                hint="After a successful login, compare the stored iterations with ITERATIONS and store "
                     "pbkdf2_hash(password) when they are lower."):
        users = {"ada": old}
        login(users, "ada", "correct horse")
        t.expect(users["ada"] != old and users["ada"].split("$")[1] == str(iterations)
                 and verify("correct horse", users["ada"]),
                 f"a new hash with {iterations} iterations", repr(users["ada"])[:60])
    with t.part("a failed login leaves the stored form alone",
                hint="Rehash only after the password was verified: a wrong one must not be stored."):
        users = {"ada": old}
        login(users, "ada", "wrong")
        t.expect(users["ada"] == old, "the old stored form", "it was changed")


@exercise("11.4")
def token_bucket(t, allow):
    namespace = getattr(allow, "__globals__", {})
    capacity, rate = namespace.get("CAPACITY"), namespace.get("PER_SECOND")
    t.answered(allow, "allow", probe=lambda: allow({}, "probe", 0.0))
    with t.part("CAPACITY and PER_SECOND are defined beside allow", required=True,
                hint="Keep the two constants of the exercise's cell above allow."):
        t.expect(isinstance(capacity, int) and capacity >= 1 and rate and rate > 0, "both defined", "missing")
    with t.part(f"a burst of {capacity + 3} tries at one moment: the first {capacity} pass, the rest wait",
                required=True, hint="Start a new key with CAPACITY tokens, take one per try, and refuse at 0."):
        buckets = {}
        got = [allow(buckets, "ip:1", 100.0) == 0 for _ in range(capacity + 3)]
        t.equal(got, [True] * capacity + [False] * 3)
    with t.part("a refused try says how many seconds to wait (rounded up, at least 1)",
                hint="Return math.ceil((1 - tokens) / PER_SECOND) when there is no whole token."):
        t.equal(allow(buckets, "ip:1", 100.0), max(1, -(-1 // rate)))
    with t.part("after 1/PER_SECOND seconds, one more try passes",
                hint="Add (now - then) * PER_SECOND tokens and store now as the bucket's time."):
        t.equal((allow(buckets, "ip:1", 100.0 + 1 / rate) == 0, allow(buckets, "ip:1", 100.0 + 1 / rate) == 0),
                (True, False))
    with t.part("each key has its own bucket", hint="Keep one (tokens, when) pair per key in `buckets`."):
        t.equal(allow(buckets, "ip:2", 100.0), 0)
    with t.part(f"a long pause refills to CAPACITY ({capacity}) and no more",
                hint="Cap the refilled tokens with min(CAPACITY, ...)."):
        later = 100.0 + 1000 * capacity / rate
        t.equal(sum(allow(buckets, "ip:1", later) == 0 for _ in range(capacity + 3)), capacity)
