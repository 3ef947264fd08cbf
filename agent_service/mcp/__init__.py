"""The Model Context Protocol both ways: MCP servers' tools for the agent
(`client`), and the service's own tools served at `/mcp` (`server`)."""
