"""Renders the home-screen icons of the web app manifest from the SVG favicon, with Debian's
Chromium (run again after changing the favicon): `.venv/bin/python scripts/make_icons.py`."""

from pathlib import Path

from playwright.sync_api import sync_playwright

STATIC = Path(__file__).resolve().parent.parent / "app" / "static"
# (file, size, padding): a maskable icon keeps its drawing inside the central safe zone.
ICONS = [("icon-192.png", 192, 0), ("icon-512.png", 512, 0), ("icon-maskable-512.png", 512, 64)]


def main() -> None:
    svg = (STATIC / "favicon.svg").read_text()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox"]
        )
        for name, size, padding in ICONS:
            page = browser.new_page(viewport={"width": size, "height": size})
            inner = size - 2 * padding
            sized = svg.replace("<svg ", f'<svg width="{inner}" height="{inner}" ', 1)
            # The plain icons keep the favicon's rounded corners; the maskable one is full bleed.
            background = "#00568f" if padding else "transparent"
            page.set_content(
                f"<html><body style='margin:0;background:{background}'>"
                f"<div style='padding:{padding}px;width:{inner}px;height:{inner}px'>{sized}</div>"
                "</body></html>"
            )
            page.screenshot(path=str(STATIC / name), omit_background=not padding)
            page.close()
        browser.close()


if __name__ == "__main__":
    main()
