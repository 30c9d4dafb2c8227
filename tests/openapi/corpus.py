"""The OpenAPI test corpus (shared/openapi/ beside the repository): files, MANIFEST.md, a parse cache."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("OPENAPI_CORPUS", ROOT.parent / "shared" / "openapi"))
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def corpus_files() -> list[str]:
    """The corpus documents' file names (empty when the corpus is absent)."""
    if not CORPUS.is_dir():
        return []
    return sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".json", ".yaml", ".yml"))


@cache
def document(name: str) -> Any:
    """A corpus document, parsed once per test session (the largest are about 3 MB)."""
    text = (CORPUS / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else yaml.load(text, Loader=_Loader)  # noqa: S506


@cache
def manifest_operations() -> dict[str, int]:
    """The operations count of each file, from MANIFEST.md's table."""
    counts: dict[str, int] = {}
    for line in (CORPUS / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) > 7 and cells[7].isdigit():
            counts[cells[0].strip("`")] = int(cells[7])
    return counts
