"""Printable pages as PDF (WeasyPrint), offline: the only resources a page may pull in are the
platform's own static files, read from disk; any other address is refused."""

from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

MIME_TYPES = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png"}


class StaticFiles(URLFetcher):
    """Serves `/static/…` from the application's folder, and nothing else."""

    def __init__(self, folder: Path, prefix: str, host: str) -> None:
        super().__init__()
        self.folder = folder.resolve()
        self.prefix = prefix
        self.host = host

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        parts = urlsplit(url)
        path = parts.path
        if parts.netloc != self.host or not path.startswith(self.prefix):
            raise ValueError(f"ressource refusée : {url}")
        file = (self.folder / path[len(self.prefix) :]).resolve()
        if self.folder not in file.parents or not file.is_file():
            raise ValueError(f"ressource introuvable : {url}")
        mime = MIME_TYPES.get(file.suffix, "application/octet-stream")
        return URLFetcherResponse(url, body=file.read_bytes(), headers={"Content-Type": mime})


def pdf_of(html: str, base_url: str) -> bytes:
    fetcher = StaticFiles(
        Path(current_app.static_folder),
        current_app.static_url_path.rstrip("/") + "/",
        urlsplit(base_url).netloc,
    )
    return HTML(string=html, base_url=base_url, url_fetcher=fetcher).write_pdf()
