"""The chat page served by uvicorn on loopback and opened in a real headless Chromium (Debian's
/usr/bin/chromium through Playwright; never `playwright install`), with the flags that keep it
headless, sandbox-free for containers and off the network; and where screenshots go:
$TEST_ARTIFACTS/web, by default test-artifacts/web in the repository (git-ignored, removed by
`make clean`)."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from playwright.async_api import Page, async_playwright
from starlette.applications import Starlette

from aiops_mcp.client_demo.web import serve_chat_app
from tests.backends.plugin import require_binaries

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPOSITORY = Path(__file__).resolve().parents[2]


def artifacts_folder() -> Path:
    """Where screenshots are kept: $TEST_ARTIFACTS/web, else test-artifacts/web in the repository."""
    root = Path(os.environ.get("TEST_ARTIFACTS") or REPOSITORY / "test-artifacts")
    folder = root / "web"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@asynccontextmanager
async def served(app: Starlette) -> AsyncIterator[str]:
    """`app` served by `serve_chat_app` on 127.0.0.1 (any free port); yields its base URL."""
    urls: list[str] = []
    ready = anyio.Event()

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(partial(serve_chat_app, app, host="127.0.0.1", port=0, on_ready=on_ready))
        with anyio.fail_after(20):
            await ready.wait()
        try:
            yield urls[0]
        finally:
            tasks.cancel_scope.cancel()  # serve_chat_app then shuts uvicorn down cleanly


@asynccontextmanager
async def browsing(url: str) -> AsyncIterator[Page]:
    """A page of a headless Chromium opened at `url`; fails on any script error."""
    require_binaries("The web page's tests", (CHROMIUM,))
    errors: list[str] = []
    async with async_playwright() as playwright:
        # headless=False: --headless=new among the arguments picks Chromium's own headless mode.
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=False, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context(
                accept_downloads=True, viewport={"width": 1400, "height": 900}
            )
            page = await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(url)
            yield page
        finally:
            await browser.close()
    assert errors == []


async def ask_in_page(page: Page, question: str) -> None:
    await page.get_by_label("Question").fill(question)
    await page.get_by_role("button", name="Ask").click()


async def download_of(page: Page, button: Any) -> tuple[str, str]:
    """(suggested file name, text) of the download a click on `button` starts."""
    async with page.expect_download() as started:
        await button.click()
    download = await started.value
    path = await download.path()
    return download.suggested_filename, await anyio.Path(path).read_text(encoding="utf-8")
