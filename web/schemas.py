"""The API's JSON bodies as pydantic models: the OpenAPI document's schemas come from here.

The request schema *is* the job contract (`JobParams`); the job view repeats
its fields from it, so a new job field appears in requests, responses and the
document without being written again.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from tasks.jobs.params import WEBHOOK_EVENTS, WEBHOOK_FIELDS, JobParams
from tasks.jobs.status import Status


class Error(BaseModel):
    detail: str


class Accepted(BaseModel):
    job_id: str
    status: Literal["queued"]
    estimated_wait: int = Field(ge=0, description="seconds")
    queue_position: int | None = Field(default=None, ge=1)
    seed: int


class Segment(BaseModel):
    start: float = Field(ge=0, description="seconds")
    end: float = Field(ge=0, description="seconds")
    kind: Literal["kept", "new"] = Field(description="the source's own audio, or made anew")


class Export(BaseModel):
    """One requested export, as the job shows it."""

    url: str | None = Field(default=None, description="where to download it (when made)")
    size_bytes: int | None = Field(default=None, ge=0)
    parts: list[str] | None = Field(
        default=None, description="stems: the instrument groups in the zip, in its order")
    pending: bool | None = Field(default=None, description="not made yet: the job is running")
    unavailable: bool | None = Field(default=None, description="this job cannot have it")
    reason: str | None = Field(default=None, description="why it is unavailable")
    expired: bool | None = Field(default=None, description="deleted with the audio")


class WebhookAttempt(BaseModel):
    at: str
    status: int | None = Field(description="the receiver's HTTP status; null: no answer")
    error: str | None = None
    duration_ms: int
    outcome: Literal["delivered", "retry", "stop"]
    next_attempt_at: str | None = Field(default=None, description="when it is tried again")


class WebhookDelivery(BaseModel):
    id: str = Field(description="the webhook-id header, the same on every retry")
    event: Literal[WEBHOOK_EVENTS]  # type: ignore[valid-type]
    state: Literal["pending", "delivered", "failed"]
    attempts: list[WebhookAttempt]
    next_attempt_at: str | None = None


class WebhookBlock(BaseModel):
    url: str
    events: list[Literal[WEBHOOK_EVENTS]]  # type: ignore[valid-type]
    deliveries: list[WebhookDelivery]


class WebhookSecret(BaseModel):
    secret: str = Field(description="whsec_...: verify deliveries with it (Standard Webhooks)")
    previous: str | None = Field(default=None, description="after a rotation, for 24 h")
    previous_expires_at: str | None = None


class _JobBase(BaseModel):
    # The view grows with the record (e.g. what the engine understood); clients
    # must ignore what they do not know.
    model_config = ConfigDict(extra="allow")

    job_id: str
    status: Status
    created_at: str
    enqueued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    engine: str | None = None
    model: str | None = None
    queue_position: int | None = None
    progress: int | None = Field(default=None, ge=0, le=100)
    audio_url: str | None = None
    expired: bool | None = None
    error: str | None = None
    understood: dict[str, Any] | None = None
    stage: str | None = Field(default=None, description="e.g. 'encoding' while compressing")
    size_bytes: int | None = Field(default=None, ge=0, description="the audio file's size")
    peaks: list[int] | None = Field(
        default=None, description="waveform overview: max level of 300 equal slices, 0-100"
    )
    segments: list[Segment] | None = Field(
        default=None, description="edits: which parts of the result are kept and which new"
    )
    snapped: dict[str, float] | None = Field(
        default=None, description="edits: the range the engine used (e.g. snapped to bar lines)"
    )
    exports: dict[str, Export] | None = Field(
        default=None, description="each requested export by name (midi, stems); absent when "
                                  "none was requested")
    webhook: WebhookBlock | None = Field(
        default=None, description="jobs submitted with a webhook: its deliveries (GET by id)"
    )


# Every input field, as the job shows it back (optional: old records may lack new ones).
Job = create_model(
    "Job",
    __base__=_JobBase,
    **{
        **{name: (field.annotation | None, None) for name, field in JobParams.model_fields.items()
           if name not in (*WEBHOOK_FIELDS, "exports")},  # exports: asked as a list, shown as a map
        # An edit's result is as long as its source (or the extension): any whole seconds.
        "duration": (int | None, Field(default=None, ge=1, description="seconds")),
    },
)


class JobList(BaseModel):
    jobs: list[Job]  # type: ignore[valid-type]
    total: int | None = Field(default=None, description="offset paging only")
    offset: int | None = Field(default=None, description="offset paging only")
    limit: int
    next_cursor: str | None = Field(
        default=None, description="cursor paging (API keys, or `cursor` given): the next "
        "page's cursor, null on the last page",
    )


def component_schemas() -> dict:
    """components.schemas for the OpenAPI 3.1 document (JSON Schema 2020-12 dialect)."""
    schemas: dict = {}
    models = {"GenerateRequest": JobParams, "Error": Error, "Accepted": Accepted,
              "Job": Job, "JobList": JobList, "WebhookSecret": WebhookSecret}
    for name, model in models.items():
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for inner, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(inner, definition)
        schema["title"] = name
        schemas[name] = schema
    schemas["Status"] = schemas.pop("Status", {"type": "string", "enum": list(Status)})
    return schemas
