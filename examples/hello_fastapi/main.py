"""A minimal FastAPI service: the shape of a real app, with real third-party wheels."""

import os
import platform

from fastapi import FastAPI

app = FastAPI(title="hello-fastapi")


@app.get("/")
def root() -> dict[str, str]:
    return {"message": "hello from shale", "python": platform.python_version(), "port": os.environ.get("PORT", "8000")}


@app.get("/healthz")
def healthz() -> dict[str, bool]:
    return {"ok": True}
