"""Lab 09 and lesson 09, the framework family: the contract's CORE clauses, checked against any
framework's server. The core is what every sample of the family serves: /health, create with a
Location, get one, a paginated list, and the JSON errors for a malformed body and a missing field."""
from coursekit.contract import Probe, Report, clauses, run_clause

CORE = ["routes.health", "routes.create", "routes.location", "routes.get", "routes.list",
        "errors.malformed_json", "errors.missing_field"]


def core_clauses():
    """The contract's clauses named in CORE, in contract order."""
    return [c for c in clauses() if c.id in CORE]


def run_core(server, api_key="unused-by-the-core") -> Report:
    """Check the core clauses against a running server (a launch() handle or a base URL)."""
    probe = Probe(getattr(server, "url", server), api_key, url_prefix=getattr(server, "url_prefix", ""))
    try:
        return Report([run_clause(c, probe) for c in core_clauses()])
    finally:
        probe.session.close()
