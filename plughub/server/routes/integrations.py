"""`/v1/integrations`: the catalog and each team's own definitions and OAuth apps."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from plughub.exceptions import InvalidInput
from plughub.schemas import ImportReport, IntegrationInfo, OAuthAppInfo, Page, VerifyReport
from plughub.server.models import ImportBody, OAuthAppBody, VerifyBody
from plughub.server.security import Team

__all__ = ["router"]

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])


@router.get("")
def list_integrations(
    request: Request,
    key: Team,
    query: str | None = None,
    page_number: int = Query(0, ge=0),
    page_size: int = Query(20, ge=1, le=1000),
    category: str | None = None,
) -> Page[IntegrationInfo]:
    """Search the catalog (full text, including action names); filter by category."""
    engine = request.app.state.engine
    return engine.integrations.list(  # type: ignore[no-any-return]
        query, page_number, page_size, team=key.team_id, category=category
    )


@router.post("", status_code=201)
def create_integration(request: Request, key: Team, definition: dict[str, Any]) -> IntegrationInfo:
    """Register a definition, visible to the caller's team."""
    return request.app.state.engine.integrations.create(definition, team=key.team_id)  # type: ignore[no-any-return]


@router.post("/import", status_code=201)
def import_integration(request: Request, key: Team, body: ImportBody) -> ImportReport:
    """Import an OpenAPI 3.x or Swagger 2.0 document (inline, or by URL) as the team's integration."""
    source = body.document if body.document is not None else body.url
    if source is None:
        raise InvalidInput("send the OpenAPI document as `document`, or its address as `url`")
    if isinstance(source, str) and not source.startswith(("http://", "https://")):
        # A bare string would be read as a path on the server's disk.
        raise InvalidInput("url must be an http:// or https:// address; send a document inline as `document`")
    options = body.model_dump(exclude={"document", "url"})
    return request.app.state.engine.integrations.import_openapi(source, team=key.team_id, **options)  # type: ignore[no-any-return]


@router.post("/{id_or_name}/verify")
def verify_integration(request: Request, key: Team, id_or_name: str, body: VerifyBody) -> VerifyReport:
    """Check an integration against vendor OpenAPI documents (inline, or by URL)."""
    sources: list[dict[str, Any] | str] = []
    for index, item in enumerate(body.documents):
        if (item.document is None) == (item.url is None):
            raise InvalidInput(f"documents[{index}]: send the OpenAPI document as `document`, or its address as `url`")
        if item.url is not None and not item.url.startswith(("http://", "https://")):
            raise InvalidInput(f"documents[{index}].url must be an http:// or https:// address")  # not a server path
        sources.append(item.document if item.document is not None else item.url)  # type: ignore[arg-type]
    names = [item.name for item in body.documents]
    return request.app.state.engine.integrations.verify(  # type: ignore[no-any-return]
        id_or_name, sources, names=names, team=key.team_id
    )


@router.get("/{id_or_name}")
def get_integration(request: Request, key: Team, id_or_name: str) -> IntegrationInfo:
    """One integration, by id or name."""
    return request.app.state.engine.integrations.get(id_or_name, team=key.team_id)  # type: ignore[no-any-return]


@router.put("/{integration_id}/oauth-app")
def set_oauth_app(request: Request, key: Team, integration_id: str, body: OAuthAppBody) -> OAuthAppInfo:
    """Store the team's OAuth client for an integration (sealed), with its webhook signing secrets."""
    return request.app.state.engine.oauth_apps.set(  # type: ignore[no-any-return]
        integration_id,
        body.client_id,
        body.client_secret,
        body.scopes,
        team=key.team_id,
        signing_secret=body.signing_secret,
        webhook_secret=body.webhook_secret,
    )


@router.get("/{integration_id}/oauth-app")
def get_oauth_app(request: Request, key: Team, integration_id: str) -> OAuthAppInfo:
    """The team's OAuth client for an integration, secret masked."""
    return request.app.state.engine.oauth_apps.get(integration_id, team=key.team_id)  # type: ignore[no-any-return]


@router.delete("/{integration_id}/oauth-app", status_code=204)
def delete_oauth_app(request: Request, key: Team, integration_id: str) -> Response:
    """Delete the team's stored OAuth client."""
    request.app.state.engine.oauth_apps.delete(integration_id, team=key.team_id)
    return Response(status_code=204)
