from fastapi import FastAPI

app = FastAPI()


@app.get("/")
async def spin():
    print("handling /", flush=True)
    while True:  # a student's endless loop blocks uvicorn's event loop: SIGTERM is never acted on
        pass
