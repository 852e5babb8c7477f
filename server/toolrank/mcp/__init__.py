"""toolrank for MCP clients: ``toolrank mcp proxy`` (upstream servers behind search_tools and call_tool) and
``toolrank mcp serve`` (search_tools over an existing catalog). Transports only: the search is a catalog select.
"""
