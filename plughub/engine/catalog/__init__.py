"""The integration catalog: definition models, loader, templates and search."""

from __future__ import annotations

from plughub.engine.catalog.catalog import Catalog
from plughub.engine.catalog.describe import describe_action, describe_integration
from plughub.engine.catalog.loader import BUNDLED_DIR, bundled_specs, load_directory, load_file, parse_definition
from plughub.engine.catalog.models import ActionSpec, IntegrationSpec

__all__ = [
    "BUNDLED_DIR",
    "ActionSpec",
    "Catalog",
    "IntegrationSpec",
    "bundled_specs",
    "describe_action",
    "describe_integration",
    "load_directory",
    "load_file",
    "parse_definition",
]
