"""The OpenAPI document's schemas are generated from the job contract, not written beside it."""

from __future__ import annotations

import json

from tasks.jobs.params import JobParams
from web.blueprints.openapi import document


def test_request_schema_is_the_job_contract():
    schema = document()["components"]["schemas"]["GenerateRequest"]
    assert set(schema["properties"]) == set(JobParams.names())
    assert schema["additionalProperties"] is False
    # a prompt unless the task inherits the source's; an edit names its source
    rules = schema["allOf"]
    assert {"required": ["prompt"]} in rules[1]["anyOf"]
    start = next(r for r in rules if r.get("then") == {"properties": {"start": {"type": "null"}}})
    assert start["if"]["properties"]["task"] == {"not": {"enum": ["repaint"]}}
    edit = next(r for r in rules if r.get("then", {}).get("required") == ["source_job"])
    assert edit["if"]["properties"]["task"]["enum"] == ["extend", "repaint", "cover"]
    assert schema["properties"]["task"]["enum"] == ["text2music", "extend", "repaint", "cover"]
    assert schema["properties"]["duration"]["enum"] == [30, 60, 120]


def test_job_view_repeats_every_input_field():
    job = document()["components"]["schemas"]["Job"]["properties"]
    # The webhook's event filter shows as its block's `events`.
    assert set(JobParams.names()) - {"webhook_events_filter"} <= set(job)
    assert "WebhookBlock" in json.dumps(job["webhook"])
    assert job["status"] == {"$ref": "#/components/schemas/Status"}


def test_every_reference_resolves():
    doc = document()
    names = set(doc["components"]["schemas"])

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(doc):
        kind, _, name = ref.removeprefix("#/components/").partition("/")
        assert name in (names if kind == "schemas" else doc["components"][kind]), ref
