"""The dashboard's server: Streamlit's own serving app.py, its page told where the app's root is.

Run with `streamlit run dashboard/server.py` (`make run`). Opened at a page's own address (`/draw`),
Streamlit's page cannot tell whether `/draw` is a page or the folder the app is served from, so it
first asks `/draw/_stcore/health` and `/draw/_stcore/host-config`, and the browser's console shows
two 404 errors on every such load (streamlit/streamlit#7074). Given the root in
`window.__streamlit.BACKEND_BASE_URL`, the page asks the root alone; this server writes that line
into the page's HTML and changes nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from streamlit import config as streamlit_config

APP = Path(__file__).with_name("app.py")
# Request headers under which the page could come back compressed, or as "304 Not Modified" (the
# browser's own copy): the line could not be written into either.
UNWRITABLE = {b"accept-encoding", b"if-none-match", b"if-modified-since"}


def root_script(base_url_path: str) -> bytes:
    """The line that tells the page where the app's root is: `server.baseUrlPath` under its origin."""
    root = json.dumps("/" + base_url_path.strip("/"))
    return (f"<script>window.__streamlit = {{BACKEND_BASE_URL: new URL({root}, location.href).href}};"
            "</script>").encode()


def with_root_script(html: bytes, base_url_path: str) -> bytes:
    """The page's HTML with `root_script` before its first script (which reads it once, on loading)."""
    at = html.find(b"<script")
    return html if at < 0 else html[:at] + root_script(base_url_path) + html[at:]


def is_page_address(path: str, base_url_path: str) -> bool:
    """True for the app's root and its pages (`/`, `/draw`), where Streamlit serves its HTML page;
    False for its files and endpoints (`/static/…`, `/_stcore/…`, `/component/…`)."""
    base = "/" + base_url_path.strip("/")
    if base != "/" and not (path == base or path.startswith(base + "/")):
        return False
    rest = path[len(base):].strip("/") if base != "/" else path.strip("/")
    return "/" not in rest


class RootForThePage:
    """ASGI middleware: writes `root_script` into the HTML of the app's pages; all else passes as it is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        base_url_path = streamlit_config.get_option("server.baseUrlPath") or ""
        if not (scope["type"] == "http" and scope["method"] == "GET"
                and is_page_address(scope["path"], base_url_path)):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def send_with_root(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if not dict(message.get("headers", [])).get(b"content-type", b"").startswith(b"text/html"):
                    await send(message)  # a file at the root, such as favicon.png
                    return
                start = message
            elif start is None:
                await send(message)
            else:
                body.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                html = with_root_script(b"".join(body), base_url_path)
                headers = [(name, value) for name, value in start.get("headers", [])
                           if name.lower() != b"content-length"]
                await send({**start, "headers": [*headers, (b"content-length", str(len(html)).encode())]})
                await send({"type": "http.response.body", "body": html})

        headers = [(name, value) for name, value in scope["headers"] if name.lower() not in UNWRITABLE]
        await self.app({**scope, "headers": headers}, receive, send_with_root)


app = st.App(APP, middleware=[Middleware(RootForThePage)])
