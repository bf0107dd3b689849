"""The MCP server: tools to deploy, invoke and debug functions from an AI assistant, over
stdio (`rocketstack mcp`) and streamable HTTP (/mcp on the control-plane port)."""
