"""Losing the real server during a chat: killed (SIGKILL) over stdio (the host spawned it) and over
streamable HTTP (started again on the same port). The turn that lost it says so clearly, the chat
goes on, and a following question is answered after reconnecting: in the terminal, on the page in
Chromium, and in the `aiops-mcp chat --web --url` process itself."""

import argparse
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from rich.console import Console

from aiops_mcp.client_demo.connection import Connection
from aiops_mcp.client_demo.events import Event, ToolStarted
from aiops_mcp.client_demo.host import describe
from aiops_mcp.client_demo.main import run_chat
from aiops_mcp.client_demo.session import ChatSession
from aiops_mcp.client_demo.terminal import repl
from aiops_mcp.client_demo.web import build_chat_app
from aiops_mcp.demo.backends import free_port
from tests.client_demo.browser import ask_in_page, browsing, served
from tests.client_demo.servers import HttpServer, StdioServer, server_env

pytestmark = pytest.mark.anyio
HELP = "Without a model I answer these kinds of questions"
LOST = "lost the connection to MCP server at "


@pytest.fixture(params=["stdio", "http"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HttpServer | StdioServer]:
    running = HttpServer(tmp_path) if request.param == "http" else StdioServer(tmp_path)
    running.start()
    try:
        yield running
    finally:
        if isinstance(running, HttpServer):
            running.kill()


def after_the_loss(server: HttpServer | StdioServer) -> str:
    """What the lost turn says happened next: a stdio server is spawned again at once; an HTTP
    server is still down, so the next question tries again."""
    if isinstance(server, StdioServer):
        return "; reconnected, ask again"
    refused = f"cannot connect to MCP server at {server.target}: All connection attempts failed"
    return f"; {refused}; the next question tries again"


async def test_the_terminal_goes_on_after_the_server_dies_mid_turn(server: HttpServer | StdioServer) -> None:
    questions = iter(["hello", "Which alerts fired?", "hello again", "exit"])

    def read(_: str) -> str:
        question = next(questions)
        if question == "hello again":
            server.start()  # HTTP: back on the same port (stdio: nothing to do)
        return question

    console = Console(record=True, width=400, color_system=None)
    async with Connection.open(server.target) as connection:
        chat = ChatSession(connection, None)

        async def ask(question: str) -> AsyncIterator[Event]:
            async for event in chat.ask(question):
                if question == "Which alerts fired?" and isinstance(event, ToolStarted):
                    server.kill()  # before the call reaches it: the server dies mid-turn
                yield event

        await repl(ask, chat.mode, read=read, console=console)
    shown = console.export_text()
    lost = f"error: {LOST}{describe(server.target)}"
    assert lost in shown and after_the_loss(server) in shown, shown
    assert shown.count(HELP) == 2 and shown.index(lost) < shown.rindex(HELP)
    assert "Traceback" not in shown and "ExceptionGroup" not in shown


async def test_the_page_says_the_server_was_lost_and_answers_after_reconnecting(
    server: HttpServer | StdioServer, artifacts: Path
) -> None:
    async with Connection.open(server.target) as connection:
        chat = ChatSession(connection, None)
        async with served(build_chat_app(chat.ask, chat.mode)) as url, browsing(url) as page:
            answers = page.get_by_test_id("answer-text")
            await ask_in_page(page, "hello")
            await expect(answers.nth(0)).to_contain_text(HELP, timeout=60_000)

            server.kill()
            await ask_in_page(page, "hello")
            error = page.get_by_role("alert")
            await expect(error).to_contain_text(f"error: {LOST}{describe(server.target)}", timeout=60_000)
            await expect(error).to_contain_text(after_the_loss(server))
            await expect(page.get_by_role("button", name="Ask")).to_be_enabled()
            await page.screenshot(path=artifacts / f"server-lost-{type(server).__name__}.png", full_page=True)

            server.start()
            await ask_in_page(page, "hello")
            await expect(page.get_by_test_id("assistant-message")).to_have_count(3)
            await expect(answers.nth(2)).to_contain_text(HELP, timeout=60_000)
            await expect(error).to_have_count(1)


def test_the_chat_process_outlives_its_http_server(tmp_path: Path) -> None:
    server = HttpServer(tmp_path)
    server.start()
    log_path = tmp_path / "chat.log"
    with log_path.open("w") as log:
        chat = subprocess.Popen(
            [sys.executable, "-m", "aiops_mcp", "chat", "--web", "--web-port", "0",
             "--url", str(server.target)],
            stdout=log, stderr=subprocess.STDOUT, env=server_env(),
        )  # fmt: skip
    try:
        page = _chat_url(chat, log_path)
        assert HELP in _answer(page, "hello")
        server.kill()
        events = _ask(page, "hello")  # the loss shows at its first call
        assert [kind for kind, _ in events][-2:] == ["error", "done"]
        assert "answer" not in [kind for kind, _ in events]
        assert events[-2][1]["message"] == f"{LOST}{server.target}{after_the_loss(server)}"
        server.start()
        assert HELP in _answer(page, "hello")  # the same process, connected again
    finally:
        server.kill()
        chat.send_signal(signal.SIGINT)
        code = chat.wait(timeout=30)
    shown = log_path.read_text()
    assert code == 0, shown
    assert "Traceback" not in shown and "ExceptionGroup" not in shown
    assert re.search(
        rf"^chat history: saved in .* \(the server at {re.escape(str(server.target))} lists", shown, re.M
    )


def _chat_url(chat: subprocess.Popen[bytes], log_path: Path) -> str:
    deadline = time.monotonic() + 60
    while not (found := re.search(r"^chat: (http://\S+)", log_path.read_text(), re.M)):
        assert chat.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "the chat page did not start in 60 s"
        time.sleep(0.1)
    return found[1]


def _ask(page: str, question: str) -> list[tuple[str, Any]]:
    with httpx.Client(timeout=60) as client:
        body = client.post(f"{page}/api/ask", json={"question": question}).text
    events = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def _answer(page: str, question: str) -> str:
    (answer,) = [data["text"] for kind, data in _ask(page, question) if kind == "answer"]
    return str(answer)


def test_a_server_that_cannot_be_reached_at_the_start_is_one_clear_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    args = argparse.Namespace(url=url, token=None, model=None, web=False, web_port=0)
    assert run_chat(args) == 1
    refused = f"error: cannot connect to MCP server at {url}: All connection attempts failed\n"
    assert capsys.readouterr().err == refused
