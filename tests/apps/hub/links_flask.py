"""A Flask page whose links come from url_for, plus a static file."""
from flask import Flask, url_for

app = Flask(__name__)


@app.get("/")
def index():
    return (f'<a href="{url_for("about")}">about</a> '
            f'<link rel="stylesheet" href="{url_for("static", filename="course.css")}">')


@app.get("/about")
def about():
    return "about this page"
