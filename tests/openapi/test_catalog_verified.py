"""The bundled catalog against the vendors' own OpenAPI documents (the corpus beside the repository).

Every bundled provider with a vendor document in the corpus records it in `verified_against`, and
verification finds nothing: what differs on purpose is an exception with its reason. Documents for
APIs the catalog does not bundle (or bundles a different API of the vendor) are listed with why.
"""

from __future__ import annotations

import pytest

from plughub.engine.catalog.loader import BUNDLED_DIR, load_file
from plughub.engine.openapi.verify import read_vendor_document, verify_definition
from tests.openapi.corpus import CORPUS, corpus_files, document

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not corpus_files(), reason=f"the OpenAPI corpus is not at {CORPUS}"),
]

# Each corpus document: the bundled provider it describes, or why none.
DOCUMENTS: dict[str, str] = {
    "1password-connect.yaml": "not bundled",
    "ably-platform.yaml": "ably",
    "adyen-checkout-v71.json": "adyen",
    "asana-api.yaml": "asana",
    "asana-app-components.yaml": "not bundled (Asana's app components, not its REST API)",
    "atlassian-jira-platform.json": "jira",
    "bitbucket.json": "bitbucket",
    "box-platform-api.json": "not bundled",
    "camara-sim-swap.yaml": "not bundled",
    "clerk-frontend-api.yaml": "another API (clerk.yaml uses Clerk's Backend API, api.clerk.com/v1)",
    "discord-api.json": "discord",
    "discourse.json": "discourse",
    "docusign-maestro.json": "another API (docusign.yaml uses eSignature, restapi/v2.1)",
    "github-api.github.com.json": "github",
    "gitlab.json": "gitlab",
    "hubspot-crm-contacts-2026-03.json": "hubspot",
    "hubspot-crm-tickets-2026-03.json": "hubspot",
    "intercom-2.16.yaml": "intercom",
    "linode-api-v4.yaml": "linode",
    "mailchimp-transactional.json": "another API (mailchimp.yaml uses Mailchimp Marketing, not Mandrill)",
    "netlify-swagger.yml": "netlify",
    "notion-api.json": "notion",
    "nytimes-article-search.yaml": "nytimes",
    "oai-petstore-expanded.yaml": "not bundled (an example)",
    "oai-petstore-swagger2.json": "not bundled (an example)",
    "oai-uspto.yaml": "not bundled (an example)",
    "oai-webhook-example.yaml": "not bundled (an example)",
    "openai-api.yaml": "openai",
    "pagerduty-events-v2.json": "pagerduty-events",
    "pagerduty-rest-api.json": "pagerduty",
    "paypal-invoicing-v2.json": "paypal",
    "plaid-api.yaml": "not bundled",
    "resend.yaml": "resend",
    "sendgrid-v3-api.yaml": "sendgrid",
    "sentry-openapi-derefed.json": "sentry",
    "slack-web-api.json": "slack",
    "spotify-web-api.yaml": "spotify",
    "stripe-api.yaml": "stripe",
    "trello-api.json": "trello",
    "twilio-api-v2010.yaml": "twilio",
    "twilio-messaging-v1.json": "twilio",
    "xero-accounting.yaml": "xero",
    "zoom-api-v2.json": "zoom",
}
PROVIDERS = sorted({p for p in DOCUMENTS.values() if (BUNDLED_DIR / f"{p}.yaml").exists()})


def test_every_corpus_document_is_accounted_for() -> None:
    assert sorted(DOCUMENTS) == corpus_files()
    assert len(PROVIDERS) == 29
    recorded = {path.stem for path in BUNDLED_DIR.glob("*.yaml") if "verified_against:" in path.read_text()}
    assert recorded == set(PROVIDERS)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_bundled_definition_matches_its_vendor_documents(provider: str) -> None:
    spec = load_file(BUNDLED_DIR / f"{provider}.yaml")
    assert spec.verified_against is not None
    names = spec.verified_against.documents
    assert sorted(names) == sorted(name for name, owner in DOCUMENTS.items() if owner == provider)
    vendors = [read_vendor_document(document(name), name=name) for name in names]
    report = verify_definition(spec, vendors)
    assert report.findings == [], "\n".join(f"{f.action}: {f.kind}: {f.message}" for f in report.findings)
    assert report.notes == []  # no exception without a finding to excuse
    assert report.actions == len(spec.actions)
