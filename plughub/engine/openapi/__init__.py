"""Import OpenAPI 3.0/3.1 and Swagger 2.0 documents as integration definitions.

```python
result = import_openapi("petstore.yaml", include=["pets"])
spec = parse_definition(result.definition)   # the definition passes the catalog loader
result.skipped                                # ["GET /pets/{id}: why", ...]
```

How a document maps onto the definition format (docs/definition-format.md):

- `servers[0]` (Swagger: `schemes`/`host`/`basePath`) -> `base_url`; server variables ->
  `connection_config` fields; an operation's own `servers` -> the action's `base_url`.
- Security schemes -> one auth entry per mode: apiKey -> API_KEY applied in its header, query or
  cookie (keys required together merge into one entry), http bearer/basic -> BEARER_TOKEN/BASIC,
  OAuth 2 authorization code or client credentials -> OAUTH2, OpenID Connect -> OAUTH2 from the
  discovery document; none -> NO_AUTH.
- Operations -> actions. Parameters and the properties of a JSON, form or multipart body become
  inputs (`in`, `required`, `alias`); schemas are inlined into JSON Schema 2020-12 without `$ref`.
  What the format cannot express (a body that is not an object, a cookie, an unsupported media
  type or method) skips the operation, or leaves out the optional part, with a warning.
"""

from __future__ import annotations

from plughub.engine.openapi.importer import import_openapi
from plughub.engine.openapi.model import ImportResult

__all__ = ["ImportResult", "import_openapi"]
