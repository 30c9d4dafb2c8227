"""`plughub integrations ...`: browse the catalog."""

from __future__ import annotations

import json
from typing import Any

import click

from plughub.cli.output import echo_json, table
from plughub.cli.paging import check_page, page_caption, page_options

__all__ = ["integrations"]


@click.group()
def integrations() -> None:
    """Browse the integration catalog."""


@integrations.command("list")
@click.option(
    "--query",
    "--search",
    "-q",
    default=None,
    help="Words to look for: each matches the start of a word in ids, names, descriptions, categories and actions.",
)
@click.option("--category", "-c", default=None, help="Only this category (see `plughub integrations categories`).")
@page_options(default_size=50)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(query: str | None, category: str | None, page: int, page_size: int, as_json: bool) -> None:
    """List integrations, best matches first."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs, not for --help

    found = IntegrationFactory.list(query=query, page_number=page - 1, page_size=page_size, category=category)
    check_page(found, page, page_size)
    infos = [item.info for item in found["results"]]
    if as_json:
        echo_json({**found, "results": infos, "page_number": page})
        return
    rows = [(i.id, i.name, ", ".join(i.authentication_methods), i.action_count, ", ".join(i.categories)) for i in infos]
    table("Integrations", ["id", "name", "schemes", "actions", "categories"], rows, page_caption(found, page))


@integrations.command("show")
@click.argument("integration")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show(integration: str, as_json: bool) -> None:
    """Show an integration: its base URL, schemes, the inputs each one needs, its actions and triggers."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs, not for --help

    info = IntegrationFactory.get(integration).info
    if as_json:
        echo_json(info)
        return
    click.echo(f"{info.name} ({info.id}) by {info.supplier}\n{info.description}")
    if info.base_url:
        click.echo(f"Base URL: {info.base_url}")
    if info.docs:
        click.echo(f"API reference: {info.docs}")
    click.echo("")
    rows = [
        (s.scheme.value, f.code, "yes" if f.required else "no", "yes" if f.secret else "no", f.description)
        for s in info.auth_schemes
        for f in (s.inputs or [None])  # type: ignore[list-item]
        if f is not None
    ] + [
        (s.scheme.value, "-", "", "", "consent in the browser" if "OAUTH" in s.scheme.value else "no inputs")
        for s in info.auth_schemes
        if not s.inputs
    ]
    table("Connect inputs", ["scheme", "input", "required", "secret", "description"], rows)
    if info.actions:
        table(f"Actions ({len(info.actions)})", ["code", "name"], [(a.code, a.name) for a in info.actions])
    else:
        # An MCP server's tools are known only once connected.
        click.echo("Actions: none in the definition; `plughub actions CONNECTION_ID` lists a connection's.")
    if info.triggers:
        trigger_rows = [(t.code, t.type, ", ".join(t.events) or "-", t.name) for t in info.triggers]
        table(f"Triggers ({len(info.triggers)})", ["code", "type", "events", "name"], trigger_rows)


@integrations.command("schema")
def schema() -> None:
    """Print the JSON Schema of definition files (for editors)."""
    from plughub.engine.catalog.schema import definition_schema

    click.echo(json.dumps(definition_schema(), indent=2))


@integrations.command("categories")
def categories() -> None:
    """List the categories and how many integrations each has."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs, not for --help

    found = IntegrationFactory.list(page_size=1000)
    counts: dict[str, int] = {}
    for item in found["results"]:
        for category in item.info.categories:
            counts[category] = counts.get(category, 0) + 1
    table("Categories", ["category", "integrations"], sorted(counts.items()))


@integrations.command("docs")
def docs() -> None:
    """Print the bundled catalog as Markdown, grouped by category (docs/catalog.md)."""
    from plughub.engine.catalog import Catalog
    from plughub.engine.catalog.markdown import catalog_markdown

    click.echo(catalog_markdown(Catalog()), nl=False)


@integrations.command("verify")
@click.argument("integration")
@click.option(
    "--openapi",
    "documents",
    multiple=True,
    required=True,
    help="The vendor's OpenAPI document: a file or an http(s) URL (repeat to check against several together).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def verify(integration: str, documents: tuple[str, ...], as_json: bool) -> None:
    """Check an integration's actions against the vendor's OpenAPI document; exit 1 on any finding."""
    from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs

    report = IntegrationFactory.verify(integration, list(documents))
    if as_json:
        echo_json(report)
    else:
        click.echo(
            f"{report.integration} against {', '.join(report.documents)}: {report.actions} actions checked, "
            f"{len(report.findings)} findings, {len(report.accepted)} accepted."
        )
        for finding in report.findings:
            click.echo(f"  {finding.action}: {finding.kind.replace('_', ' ')}: {finding.message}")
        for finding in report.accepted:
            click.echo(f"  accepted {finding.action}: {finding.kind.replace('_', ' ')}: {finding.message}")
            click.echo(f"      because: {finding.accepted}")
        for note in report.notes:
            click.echo(f"  note: {note}")
    if report.findings:
        raise SystemExit(1)


@integrations.command("import")
@click.argument("source")
@click.option("--id", "integration_id", default=None, help="The integration id (a slug of the title by default).")
@click.option("--name", default=None, help="The display name (the document's title by default).")
@click.option("--base-url", default=None, help="The base URL, instead of the document's first server.")
@click.option("--include", multiple=True, help="Keep only this tag or path prefix (repeat).")
@click.option("--exclude", multiple=True, help="Leave out this tag or path prefix (repeat).")
@click.option(
    "--save",
    "save_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Write the definition to DIR/<id>.yaml (for PLUGHUB_CATALOG_PATH) instead of registering it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def import_(
    source: str,
    integration_id: str | None,
    name: str | None,
    base_url: str | None,
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    save_dir: str | None,
    as_json: bool,
) -> None:
    """Turn an OpenAPI 3.x or Swagger 2.0 document (a file or a URL) into an integration."""
    import warnings
    from pathlib import Path

    options = {
        "id": integration_id,
        "name": name,
        "base_url": base_url,
        "include": list(include) or None,
        "exclude": list(exclude) or None,
    }
    if save_dir:
        import yaml

        from plughub.engine.catalog import parse_definition
        from plughub.engine.openapi import import_openapi

        result = import_openapi(source, **options)  # type: ignore[arg-type]
        spec = parse_definition(result.definition)
        target = Path(save_dir) / f"{spec.id}.yaml"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(result.definition, sort_keys=False, allow_unicode=True), encoding="utf-8")
        summary: dict[str, Any] = {
            "id": spec.id,
            "file": str(target),
            "operations": result.operations,
            "actions": len(spec.actions),
            "skipped": result.skipped,
            "warnings": result.warnings,
        }
    else:
        from plughub.factories import IntegrationFactory  # pydantic: loaded when a command runs

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the summary below says it
            created = IntegrationFactory.from_openapi(source, **options)  # type: ignore[arg-type]
        report = created.additional_info["import_report"]
        summary = {
            "id": created.id,
            "operations": report.operations,
            "actions": report.actions,
            "skipped": report.skipped,
            "warnings": report.warnings,
        }
    if as_json:
        echo_json(summary)
        return
    where = f"saved to {summary['file']}" if "file" in summary else "registered"
    click.echo(
        f"Imported {summary['id']}: {summary['actions']} actions from {summary['operations']} operations, {where}."
    )
    for line in [*summary["skipped"], *summary["warnings"]][:20]:
        click.echo(f"  - {line}")
    extra = len(summary["skipped"]) + len(summary["warnings"]) - 20
    if extra > 0:
        click.echo(f"  ... and {extra} more (see --json)")
