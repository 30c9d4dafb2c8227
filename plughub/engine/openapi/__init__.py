"""Import OpenAPI 3.0/3.1 and Swagger 2.0 documents as integration definitions.

```python
result = import_openapi("petstore.yaml")
spec = parse_definition(result.definition)
```
"""

from __future__ import annotations

from plughub.engine.openapi.importer import import_openapi
from plughub.engine.openapi.model import ImportResult

__all__ = ["ImportResult", "import_openapi"]
