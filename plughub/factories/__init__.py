"""Factories: the SDK's entry points (aiXplain's `aixplain.factories`)."""

from __future__ import annotations

from plughub.factories.integration_factory import IntegrationFactory
from plughub.factories.model_factory import ModelFactory

__all__ = ["IntegrationFactory", "ModelFactory"]
