"""Serving the agent to other programs: an MCP server and an HTTP API."""
