"""The browser face of `aiops-mcp chat --web`: a split-screen page (conversation | data panel) over
the same chat turns as the terminal, streamed as Server-Sent Events (`app.py`, `static/`)."""

from aiops_mcp.client_demo.web.app import ChatRecorder, StoreRecorder, build_chat_app, serve_chat_app

__all__ = ["ChatRecorder", "StoreRecorder", "build_chat_app", "serve_chat_app"]
