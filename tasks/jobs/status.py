"""A job's status names, once. Members are str, so records and JSON carry plain strings."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELED = "canceled"


ACTIVE = (Status.QUEUED, Status.STARTED)
TERMINAL = (Status.FINISHED, Status.FAILED, Status.CANCELED)
