"""Obtain credentials: OAuth 2.0 and OAuth 1.0a builders and parsers, and the flows that store them."""

from __future__ import annotations

from plughub.engine.oauth.apps import OAuthApp, app_record_id, env_app, env_names

__all__ = ["OAuthApp", "app_record_id", "env_app", "env_names"]
