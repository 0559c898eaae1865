"""deploy/z2jh: the values file validates against the pinned chart's schema (as helm checks it),
the schema is the one its generator makes, and the single-user image follows the course's rules."""
import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import course  # noqa: E402

Z2JH = ROOT / "deploy" / "z2jh"
SCHEMA = Z2JH / "schema"
CHART_VERSION = "4.4.0"


def load(path):
    return yaml.safe_load(path.read_text())


def helm_merge(defaults, values):
    """Values over defaults as helm coalesces them: maps merge key by key, anything else (lists
    included) replaces, and a null removes the default."""
    merged = copy.deepcopy(defaults)
    for key, value in values.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def schema_errors(values):
    """Every way `values` breaks the chart's published schema, one line each."""
    schema = (SCHEMA / "values.schema.json").read_text()
    validator = jsonschema.Draft7Validator(json.loads(schema))
    merged = helm_merge(load(SCHEMA / "chart-values.yaml"), values)
    return sorted(f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
                  for error in validator.iter_errors(merged))


def test_the_values_file_validates_against_the_pinned_chart_schema():
    errors = schema_errors(load(Z2JH / "values.yaml"))
    assert not errors, "deploy/z2jh/values.yaml breaks the chart's schema:\n" + "\n".join(errors)


@pytest.mark.parametrize("change, where", [
    ({"singleuser": {"cpu": {"limit": "1 core"}}}, "singleuser.cpu.limit"),
    ({"singleuser": {"memroy": {"limit": "1G"}}}, "singleuser"),     # a misspelt section
    ({"cull": {"timeout": "one hour"}}, "cull.timeout"),
    ({"singleuser": {"image": {"name": "x", "tag": 2026.12}}}, "singleuser.image.tag"),
    ({"singleuser": {"extraFiles": {"cfg": {"data": {}}}}}, "singleuser.extraFiles.cfg"),  # no mountPath
])
def test_a_values_file_that_breaks_the_schema_is_refused(change, where):
    broken = helm_merge(load(Z2JH / "values.yaml"), change)
    errors = schema_errors(broken)
    assert errors and any(error.startswith(where) for error in errors), errors


def test_the_schema_json_is_what_its_generator_makes():
    made = subprocess.run([sys.executable, "-c", "import generate; print(generate.generate(), end='')"],
                          cwd=SCHEMA, capture_output=True, text=True, check=True).stdout
    assert made == (SCHEMA / "values.schema.json").read_text(), (
        "values.schema.json is stale: run deploy/z2jh/schema/generate.py")


def test_the_pinned_chart_version_is_named_where_it_is_used():
    readme = (SCHEMA / "README.md").read_text()
    assert f"Chart version: **{CHART_VERSION}**" in readme
    assert re.search(r"commit `[0-9a-f]{40}`", readme) and "github.com/jupyterhub/zero-to-jupyterhub-k8s" in readme
    assert f"--version {CHART_VERSION}" in (Z2JH / "values.yaml").read_text()


def test_the_default_url_is_the_link_that_course_py_prints():
    """The server-relative half of `course.py link`'s answer, for the repository the values name."""
    default = load(Z2JH / "values.yaml")["singleuser"]["defaultUrl"]
    link = course.nbgitpuller_link("https://hub.example.org", "https://github.com/your-org/web-course")
    assert default == link.split("/hub/user-redirect", 1)[1]


def test_the_profiles_hold_at_least_the_measured_memory():
    """Measured (README, "For instructors"): about 270 MiB per student at peak on lesson 05 and lab 05."""
    values = load(Z2JH / "values.yaml")
    measured = 270 * 2**20
    sizes = [values["singleuser"]["memory"]] + [
        {"guarantee": p["kubespawner_override"]["mem_guarantee"],
         "limit": p["kubespawner_override"]["mem_limit"]} for p in values["singleuser"]["profileList"]]
    units = {"M": 10**6, "G": 10**9}
    for size in sizes:
        guarantee, limit = (int(size[k][:-1]) * units[size[k][-1]] for k in ("guarantee", "limit"))
        assert measured < guarantee <= limit, size
    names = [p["display_name"] for p in values["singleuser"]["profileList"]]
    assert names == ["1-day class", "3-day class"]


# The course's rules for a Dockerfile (no container runtime runs here, so the file is read).
def dockerfile_problems(text):
    """What a Dockerfile does against the course's rules, in words (an empty list when none)."""
    lines = re.sub(r"\\\n", " ", text).splitlines()
    instructions = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    problems = []
    bases = [i.split()[1] for i in instructions if i.upper().startswith("FROM ")]
    for base in bases:
        pinned = "@sha256:" in base or re.search(r":\d+\.\d+\.\d+", base)
        if not pinned:
            problems.append(f"the base image {base} is not pinned to a patch version or a digest")
    users = [i.split()[1] for i in instructions if i.upper().startswith("USER ")]
    if not users or users[-1] in ("root", "0", "0:0"):
        problems.append("the image runs as root: end with USER and a non-root user")
    if not any(i.upper().startswith("HEALTHCHECK ") for i in instructions):
        problems.append("there is no HEALTHCHECK")
    if not any(re.search(r"pip install --no-deps -r \S*requirements\.txt", i) for i in instructions):
        problems.append("the student lock is not installed with pip install --no-deps -r requirements.txt")
    return problems


def test_the_single_user_image_follows_the_rules():
    text = (Z2JH / "Dockerfile").read_text()
    assert dockerfile_problems(text) == []
    assert "pip install --no-deps /tmp/course/src" in text  # the course's own package
    for source in re.findall(r"^COPY (\S+) ", text, re.M):
        assert (ROOT / source).exists(), f"COPY {source}: no such file in the course"
    extra = (Z2JH / "image-requirements.txt").read_text()
    pins = [line for line in extra.splitlines() if line and not line.startswith("#")]
    assert pins and all(re.fullmatch(r"[a-z0-9-]+==[\d.]+", pin) for pin in pins), pins
    lock = (ROOT / "requirements.txt").read_text()
    assert "jupyter-server-proxy==" in lock  # in the image through the student lock


@pytest.mark.parametrize("bad, problem", [
    ("FROM python:3.11-slim\nUSER 1000\nHEALTHCHECK CMD true\nRUN pip install --no-deps -r requirements.txt",
     "not pinned"),
    ("FROM python:3.11.14-slim\nUSER root\nHEALTHCHECK CMD true\nRUN pip install --no-deps -r requirements.txt",
     "runs as root"),
    ("FROM python:3.11.14-slim\nUSER 1000\nRUN pip install --no-deps -r requirements.txt", "HEALTHCHECK"),
    ("FROM python:3.11.14-slim\nUSER 1000\nHEALTHCHECK CMD true\nRUN pip install -r requirements.txt",
     "--no-deps"),
])
def test_the_dockerfile_rules_catch_what_they_name(bad, problem):
    assert any(problem in found for found in dockerfile_problems(bad))
