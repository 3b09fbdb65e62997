"""The HTTP server: REST API, OpenAI-compatible /v1, Chatchat routes and MCP in one app."""

from chatkb.server.app import create_app

__all__ = ["create_app"]
