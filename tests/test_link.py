"""`course.py link`: an nbgitpuller link in which every value survives the trip, whatever it holds."""
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import course  # noqa: E402

TRICKY = [
    # (repository, branch, path): what a real class may have in its names
    ("https://github.com/o/web-course", "main", "notebooks/00-welcome.ipynb"),
    ("https://gitlab.example.org/a b/web course.git", "fix/a&b=c#d?e", "notebooks/05 Flask & co.ipynb"),
    ("https://example.org/git/web-course.git?via=mirror&y=1", "release+2026/12", "labs/05-lab-flask.ipynb"),
    ("https://github.com/o/cours-é", "ünï/%20", "notebooks/ça%va.ipynb"),
]


@pytest.mark.parametrize("repo, branch, path", TRICKY)
def test_every_value_comes_back_whole(repo, branch, path):
    link = course.nbgitpuller_link("https://hub.example.org/", repo, branch, path)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "hub.example.org",
                                                        "/hub/user-redirect/git-pull")
    assert parts.fragment == ""  # a '#' in a name must not end the query
    assert [pair.split("=")[0] for pair in parts.query.split("&")] == ["repo", "branch", "urlpath"]
    assert all(char not in parts.query for char in " #?+é") and "%" in parts.query
    found = parse_qs(parts.query, keep_blank_values=True, strict_parsing=True)
    folder = repo.split("?")[0].rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    assert found == {"repo": [repo], "branch": [branch], "urlpath": [f"lab/tree/{folder}/{path}"]}


def test_the_hub_address_keeps_its_own_prefix():
    link = course.nbgitpuller_link("https://example.org/jupyter", "https://g/x/c.git")
    assert link.startswith("https://example.org/jupyter/hub/user-redirect/git-pull?repo=https%3A%2F%2Fg%2Fx%2Fc.git&")
    assert "urlpath=lab%2Ftree%2Fc%2Fnotebooks%2F00-welcome.ipynb" in link


def test_the_command_prints_the_link_without_a_venv():
    done = subprocess.run([sys.executable, "course.py", "link", "https://hub.example.org",
                           "--repo", "https://github.com/o/web-course", "--branch", "a&b",
                           "--path", "labs/05-lab-flask.ipynb"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("https://hub.example.org/hub/user-redirect/git-pull?repo=https%3A%2F%2Fgithub.com"
                           "%2Fo%2Fweb-course&branch=a%26b&urlpath=lab%2Ftree%2Fweb-course%2Flabs%2F"
                           "05-lab-flask.ipynb\n")


@pytest.mark.parametrize("args, said", [
    (["hub.example.org", "--repo", "https://g/x"], "is not a hub address"),
    (["https://hub.example.org", "--repo", "https://g/x", "--branch", " "], "the branch is empty"),
])
def test_bad_input_is_explained(args, said):
    done = subprocess.run([sys.executable, "course.py", "link", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and said in done.stdout, done.stdout + done.stderr


def test_an_ssh_origin_becomes_an_https_address(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:o/web-course.git"],
                   check=True)
    assert course.origin_url(tmp_path) == "https://github.com/o/web-course.git"
