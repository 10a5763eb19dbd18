"""The one ASGI application: Streamlit's pages at ``/`` and the Gradio app at ``/gradio``, on one port.

``python -m app`` runs this module with ``streamlit run``, which serves its module-level ``app``. Streamlit's own
app (``st.App``) is mounted last, at ``/``, on a FastAPI app whose lifespan starts and stops Streamlit's runtime and
the run queue's dispatcher. When the app is served beyond the loopback address, every request must carry the
access token (see :mod:`app.access`).
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import asynccontextmanager
from pathlib import Path

import gradio as gr
import streamlit as st
from fastapi import FastAPI

from app.access import TokenMiddleware
from app.dispatcher import QueueDispatcher
from app.gradio_app import build as build_gradio
from app.gradio_io import UPLOAD_LIMIT
from app.navigation import URL_PATHS

log = logging.getLogger(__name__)
GRADIO_PATH = "/gradio"
streamlit_app = st.App(str(Path(__file__).with_name("main.py")))


WARM_MODULES = (
    "torch", "pandas", "plotly.graph_objects", "plotly.subplots", "core.config", "core.train.launcher",
    "app.train_form", "app.launch_panel", "app.active_runs", "app.runs_table", "app.curves", "app.run_detail",
    "app.datasets",
)  # fmt: skip
"""Imported in the background at start, so that the first page a user opens does not wait for them (never
librosa, numba or umap: their first use compiles for seconds, and only a page that needs them imports them)."""


def _warm_up() -> None:
    import importlib

    for name in WARM_MODULES:
        try:
            importlib.import_module(name)
        except Exception as e:  # a page that needs it will say what is wrong
            log.warning("warm-up: importing %s failed: %s", name, e)


@asynccontextmanager
async def lifespan(fastapi_app: FastAPI):
    """Start Streamlit's runtime, the warm-up and the queue dispatcher; stop them on shutdown."""
    async with streamlit_app.lifespan()(fastapi_app):
        threading.Thread(target=_warm_up, name="clar-warm-up", daemon=True).start()
        dispatcher = QueueDispatcher()
        dispatcher.start()
        try:
            yield
        finally:
            dispatcher.stop()


BASE_SCRIPT = (
    "<script>(function(){var p=location.pathname.replace(/\\/+$/,'');var last=p.split('/').pop();"
    "if(%s.indexOf(last)>=0){p=p.slice(0,p.length-last.length)}else{p=p+'/'}"
    "window.__streamlit=Object.assign({},window.__streamlit,{BACKEND_BASE_URL:location.origin+p});})();</script>"
)


class BaseUrlScript:
    """Tell Streamlit's browser client where the server is, in the page's HTML, so it never guesses wrong.

    Opened at a page's URL (``/runs``), the client guesses its server is at ``/runs/`` first, and that guess's
    404s land in the browser console. A small script in the HTML sets ``window.__streamlit.BACKEND_BASE_URL`` to
    the URL minus the page's path instead (the app also works behind a proxy's path prefix).
    """

    def __init__(self, asgi_app) -> None:
        self.app = asgi_app
        self.script = (BASE_SCRIPT % json.dumps(list(URL_PATHS))).encode()

    async def __call__(self, scope, receive, send) -> None:
        """Pass everything through, adding the script to the HTML of a page."""
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope.get("method") != "GET"
            or "/_stcore/" in path
            or path.startswith(GRADIO_PATH)
            or "." in path[-8:]
        ):
            await self.app(scope, receive, send)
            return
        # a page (not an asset): ask for it uncompressed, so that the script can go in
        scope = {**scope, "headers": [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"accept-encoding"]}
        start: dict | None = None
        chunks: list[bytes] = []

        async def capture(message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                html = headers.get(b"content-type", b"").startswith(b"text/html")
                if not html or headers.get(b"content-encoding"):
                    await send(message)
                    start = {}
                    return
                start = message
                return
            if start == {}:  # not HTML: pass through
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks).replace(b"<head>", b"<head>" + self.script, 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
TokenMiddleware.install(app)
app.add_middleware(BaseUrlScript)
gr.mount_gradio_app(app, build_gradio(), path=GRADIO_PATH, max_file_size=UPLOAD_LIMIT, footer_links=["api"])
app.mount("/", streamlit_app)
