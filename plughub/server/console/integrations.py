"""`/console/integrations`: the catalog a team sees; register a definition, import an OpenAPI document."""

from __future__ import annotations

import json
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from plughub.exceptions import InvalidInput
from plughub.server.console.session import PATH, ConsoleRoute, Operator, check_csrf, page

__all__ = ["router"]

router = APIRouter(prefix=f"{PATH}/integrations", route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 25


@router.get("")
def integrations(
    request: Request,
    session: Operator,
    q: str = "",
    category: str = "",
    page_number: Annotated[int, Query(alias="page", ge=0)] = 0,
) -> Response:
    """Search the catalog, by words and category."""
    service = request.app.state.engine.integrations
    found = service.list(q or None, page_number, PAGE_SIZE, team=session.team_id, category=category or None)
    categories = service.categories(team=session.team_id)
    return page(request, session, "integrations.html", found=found, q=q, category=category, categories=categories)


def _text(upload: UploadFile | None, pasted: str) -> str:
    """The uploaded file's text, else the pasted text."""
    if upload is not None and upload.filename:
        raw = upload.file.read()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("the file is not UTF-8 text; upload a YAML or JSON file") from None
    return pasted


def _document(text: str, what: str) -> Any:
    if not text.strip():
        raise InvalidInput(f"choose a {what} file, or paste it")
    try:
        return yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise InvalidInput(f"the {what} is not valid YAML or JSON: {exc}") from None


@router.post("")
def register(
    request: Request,
    session: Operator,
    csrf_token: Annotated[str, Form()] = "",
    definition: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Register a definition (a YAML file, uploaded or pasted) for the team."""
    check_csrf(session.csrf_token, csrf_token)
    data = _document(_text(definition, text), "definition")
    if not isinstance(data, dict):
        raise InvalidInput("a definition is a YAML mapping (id, display_name, auth, actions...)")
    info = request.app.state.engine.integrations.create(data, team=session.team_id)
    return RedirectResponse(f"{PATH}/integrations/{info.id}?registered=1", status_code=303)


@router.post("/import")
def import_openapi(
    request: Request,
    session: Operator,
    csrf_token: Annotated[str, Form()] = "",
    document: Annotated[UploadFile | None, File()] = None,
    text: Annotated[str, Form()] = "",
    id: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    base_url: Annotated[str, Form()] = "",
) -> Response:
    """Import an OpenAPI 3.x or Swagger 2.0 document (uploaded or pasted) as the team's integration."""
    check_csrf(session.csrf_token, csrf_token)
    data = _document(_text(document, text), "OpenAPI document")
    if not isinstance(data, dict):
        raise InvalidInput("an OpenAPI document is a YAML or JSON mapping (openapi, info, paths...)")
    report = request.app.state.engine.integrations.import_openapi(
        json.loads(json.dumps(data, default=str)),  # YAML dates and the like as strings, as JSON would carry them
        team=session.team_id,
        id=id.strip() or None,
        name=name.strip() or None,
        base_url=base_url.strip() or None,
    )
    if report.integration is None:
        raise InvalidInput("the document has no operation to import")
    return RedirectResponse(f"{PATH}/integrations/{report.integration.id}?imported={report.actions}", status_code=303)


@router.get("/{integration_id}")
def integration(
    request: Request, session: Operator, integration_id: str, registered: bool = False, imported: int | None = None
) -> Response:
    """One integration: schemes, actions and their inputs."""
    engine = request.app.state.engine
    info = engine.integrations.get(integration_id, team=session.team_id)
    actions = engine.integrations.actions(info.id, team=session.team_id)
    return page(
        request, session, "integration.html", info=info, actions=actions, registered=registered, imported=imported
    )
