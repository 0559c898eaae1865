"""A Flask page whose links come from url_for, plus a static file and two redirects."""
from flask import Flask, redirect, url_for

app = Flask(__name__)


@app.get("/")
def index():
    return (f'<a href="{url_for("about")}">about</a> '
            f'<link rel="stylesheet" href="{url_for("static", filename="course.css")}">')


@app.get("/about")
def about():
    return "about this page"


@app.get("/go")
def go():
    return redirect(url_for("about"))  # behind the proxy (ProxyFix), the prefix is in the path


@app.get("/go-plain")
def go_plain():
    return redirect("/about")  # the proxy puts its prefix in front of this one
