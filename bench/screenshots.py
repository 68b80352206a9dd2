"""The page as a reader sees it, for docs/screenshots/: desktop (1366×900) light and dark, and a
phone (390×844), each after a span question and a question about the whole article.

    .venv/bin/python bench/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import ui
from qa.config import ServerSettings

# The page is still: no typing indicator, the article panel no longer faded while it updates.
SETTLED = """() => { const a = document.querySelector('#article'); if (!a || document.querySelector('#chat .qa-typing')) return false;
  for (let e = a; e; e = e.parentElement) if (getComputedStyle(e).opacity !== '1') return false; return true; }"""
VIEWS = {
    "desktop-light": {"viewport": {"width": 1366, "height": 900}},
    "desktop-dark": {"viewport": {"width": 1366, "height": 900}, "color_scheme": "dark"},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = ui.build_app()
    url = ui.launch(app, ServerSettings("127.0.0.1", port))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
            for name, options in VIEWS.items():
                page = browser.new_page(**options)
                page.set_default_timeout(120_000)
                page.goto(url + ("?__theme=dark" if options.get("color_scheme") == "dark" else ""))
                page.locator("#question textarea").wait_for()
                page.wait_for_function("() => !document.querySelector('#question textarea').disabled")
                if name == "desktop-light":
                    page.screenshot(path=str(args.out / f"{name}-empty.png"))
                for question in ("When did the US Defence Secretary arrive in New Delhi?", "Who is mentioned?"):
                    replies = page.locator("#chat .qa-reply").count()
                    page.locator("#question textarea").fill(question)
                    page.locator("#question textarea").press("Enter")
                    page.locator("#chat .qa-reply").nth(replies).wait_for()
                page.wait_for_function(SETTLED)
                page.screenshot(path=str(args.out / f"{name}.png"), full_page=name == "phone")
                page.close()
            browser.close()
    finally:
        app.close()
        app.page.ingestor.close()
    for png in args.out.glob("*.png"):
        small(png)
    print(f"screenshots in {args.out}")


def small(png: Path) -> None:
    """The PNG in 128 colours (a third of its size; the page's flat colours survive it)."""
    from PIL import Image

    with Image.open(png) as image:
        reduced = image.convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    reduced.save(png, optimize=True)


if __name__ == "__main__":
    main()
