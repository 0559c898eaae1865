"""A FastAPI app: its /docs page must find openapi.json, and it serves a static folder."""
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

app = FastAPI(title="hub test")
app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")


@app.get("/items/{number}")
def item(number: int):
    return {"number": number}
