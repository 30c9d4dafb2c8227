"""Actions as LLM tools: definitions per API, OpenAI strict schemas, descriptions a model reads.

A neutral layer over `plughub.schemas`: the SDK (`ConnectionTool.as_tools`) and the MCP server
(`plughub.mcp_server`) both build their tools from it, and it imports nothing of either.
"""

from __future__ import annotations

from plughub.tool_schemas.definitions import FORMATS, as_tools, build_tools, clean_schema, tool_name
from plughub.tool_schemas.descriptions import returns_sentence, tool_description
from plughub.tool_schemas.strict import as_text, restore_arguments, strict_schema

__all__ = [
    "FORMATS",
    "as_text",
    "as_tools",
    "build_tools",
    "clean_schema",
    "restore_arguments",
    "returns_sentence",
    "strict_schema",
    "tool_description",
    "tool_name",
]
