"""Actions: list and describe a connection's actions, run one (its call prepared, signed, sent, audited).

The modules are imported by name (`service`, `call`, `signers`, `validation`).
"""

from __future__ import annotations

__all__: list[str] = []
