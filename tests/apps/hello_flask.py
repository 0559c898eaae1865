from flask import Flask, url_for

app = Flask(__name__)


@app.get("/")
def index():
    return "flask"


@app.get("/where")
def where():
    return url_for("index")
