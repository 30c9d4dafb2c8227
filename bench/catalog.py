"""B7: load and search the bundled catalog, and 1,000 generated definitions on top of it."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import yaml

from bench.common import Result, median_ms

NAME = "catalog"


def _generated(directory: Path, count: int) -> None:
    source = yaml.safe_load(
        (Path(__file__).resolve().parents[1] / "plughub/engine/catalog/providers/github.yaml").read_text()
    )
    for index in range(count):
        spec = copy.deepcopy(source)
        spec["id"] = f"generated-{index:04d}"
        spec["display_name"] = f"Generated {index}"
        prefix = spec["id"].upper().replace("-", "_") + "_"
        # Action and trigger codes carry the id, and triggers name their actions: rename them all.
        (directory / f"{spec['id']}.yaml").write_text(yaml.safe_dump(spec).replace("GITHUB_", prefix))


def run(quick: bool) -> Result:
    from plughub.engine.catalog import Catalog

    result = Result("B7 catalog load and search", command="python -m bench catalog")
    repeat = 3 if quick else 7
    cold = median_ms(lambda: Catalog().spec("github"), repeat)
    full = median_ms(lambda: Catalog().search("create issue"), repeat)
    catalog = Catalog()
    catalog.search()
    warm = median_ms(lambda: catalog.search("create issue"), repeat * 3)
    size = len(catalog)
    result.add(f"open the catalog and get one integration ({size} bundled, lazy)", f"{cold:8.1f} ms")
    result.add("open the catalog and search it (parses every file)", f"{full:8.1f} ms")
    result.add("search again, warm", f"{warm:8.2f} ms")
    result.ratio("catalog search (full parse) / one integration (lazy)", full / cold)
    count = 100 if quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        _generated(Path(tmp), count)
        extra = median_ms(lambda: Catalog([Path(tmp)]).search("create issue"), 1 if quick else 3)
    result.add(f"with {count} generated definitions on PLUGHUB_CATALOG_PATH: load and search", f"{extra:8.1f} ms")
    result.add(
        "per generated definition, beyond the bundled parse (validated in full)", f"{(extra - full) / count:8.2f} ms"
    )
    return result
