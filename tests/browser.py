"""Browser-test plumbing: the app served on loopback, and Debian's Chromium through Playwright."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class WatchedPage:
    """A desktop page in French that notes what it fetches from outside the site and the
    errors its console reports."""

    page: Page
    outside: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e]


@contextmanager
def watched_page(browser: Browser, site: str, width: int = 1280) -> Iterator[WatchedPage]:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="fr-FR", base_url=site
    )
    watched = WatchedPage(context.new_page())
    watched.page.on(
        "request", lambda r: watched.outside.add(r.url) if not r.url.startswith(site) else None
    )
    watched.page.on(
        "console", lambda m: watched.errors.append(m.text) if m.type == "error" else None
    )
    try:
        yield watched
    finally:
        context.close()
