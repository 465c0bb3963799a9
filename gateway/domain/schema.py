"""The published JSON Schema of the unified work order (docs/work-order.schema.json).

Regenerate with `python -m gateway.domain.schema > docs/work-order.schema.json`; a test
fails when the file and the model drift apart.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.domain.workorder import WorkOrder, WorkOrderIn


def work_order_schema() -> dict[str, Any]:
    """Schemas of the submission (WorkOrderIn) and the stored order (WorkOrder)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://lianxin.example/schemas/work-order.json",
        "title": "Lianxin unified work order (工单)",
        "description": "Fields marked x-personal-data hold a citizen's personal data.",
        "oneOf": [{"$ref": "#/$defs/WorkOrderIn"}, {"$ref": "#/$defs/WorkOrder"}],
        "$defs": _definitions(),
    }


def _definitions() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    for model in (WorkOrderIn, WorkOrder):
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
    return dict(sorted(defs.items()))


def render() -> str:
    """The schema file's exact text."""
    return json.dumps(work_order_schema(), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    print(render(), end="")
