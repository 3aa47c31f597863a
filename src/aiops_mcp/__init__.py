"""aiops-mcp: grounded, bounded incident-response data for any MCP host."""

__version__ = "0.1.0"
