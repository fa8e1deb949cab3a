"""Corecraft over MCP: ``corecraft serve-mcp`` serves the tool registry, the policy and a bound task to MCP clients.

``server`` builds the MCP server (it imports the ``mcp`` SDK, installed with ``pip install "corecraft[mcp]"``);
``cli`` is the ``serve-mcp`` subcommand and imports the SDK only when it runs, so this package stays importable
without it. See docs/mcp.md.
"""
