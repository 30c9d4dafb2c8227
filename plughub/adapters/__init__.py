"""Connections' actions as the native tools of agent frameworks, one optional extra each.

`plughub.adapters.langchain.tools(conn)` (`plughub[langchain]`), `plughub.adapters.openai_agents.tools(conn)`
(`plughub[openai-agents]`), `plughub.adapters.pydantic_ai.tools(conn)` (`plughub[pydantic-ai]`) and
`plughub.adapters.llamaindex.tools(conn)` (`plughub[llamaindex]`). Each module imports its framework only when
called, so `import plughub.adapters.langchain` works without LangChain installed.
"""

from __future__ import annotations

__all__: list[str] = []
