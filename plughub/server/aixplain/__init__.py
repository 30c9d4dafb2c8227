"""The aiXplain SDK's wire protocol on `plughub serve`: the official `aixplain` SDK runs unmodified.

Point the SDK at the server (`BACKEND_URL=<server>`, `MODELS_RUN_URL=<server>/api/v1/execute`,
`TEAM_API_KEY=<plughub API key>`) and its integration features talk to plughub's engine, under the
same rules as `/v1`: the key's team scopes everything, the outbound guard, audit and secret
redaction apply. `../shared/AIXPLAIN-WIRE.md` describes the protocol; the modules here are:

- `auth`: `Authorization: Token <key>` / `x-api-key` mapped to plughub API keys;
- `records`: integrations and connections as v1 (list-form attributes) and v2 (dict-form) records;
- `routes_v1` (`/sdk/models/...`), `routes_v2` (`/v2/integrations/...`, `/v2/tools/...`);
- `execute`: `/api/v1/execute/{id}` and `/api/v2/execute/{id}` (connect, listings, runs);
- `connect`: connect bodies as `ConnectRequest`s; `envelopes`: the execute answers;
- `polling`: runs answered asynchronously, kept in the database, and `/api/v1/data/{request_id}`;
- `errors`: `{"statusCode", "message", "error"}` bodies for these routes only.
"""

from __future__ import annotations

from plughub.server.aixplain.mount import mount_aixplain
from plughub.server.aixplain.polling import Runs

__all__ = ["Runs", "mount_aixplain"]
