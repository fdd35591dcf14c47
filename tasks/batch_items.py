"""Batch input: one job per line of a prompts file, with a stable job id per line.

A line is either a JSON object with JobParams fields (JSONL)
or, if it does not start with "{", a plain prompt with the default duration.
Blank lines are ignored. A line that cannot become a valid job is kept as an
item with an error, so it is reported (as failed) instead of stopping the batch.

The job id is derived from the line's number and text: running the same file
again finds the same jobs (to re-attach or skip), and Celery gets it as the
task id, so the job store, Flower and the output file all agree.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from tasks.jobs.edits import Edit
from tasks.jobs.params import InvalidParams, JobParams


@dataclass
class Item:
    line: int  # 1-based line number in the prompts file
    text: str
    params: JobParams | None = None
    error: str | None = None
    edit: Edit | None = None  # an edit line's resolved job (tasks.jobs.edits.resolve)

    @property
    def job_id(self) -> str:
        digest = hashlib.sha256(f"{self.line}\n{self.text}".encode()).hexdigest()
        return f"batch-{digest[:24]}"

    @property
    def filename(self) -> str:
        prompt = self.params.prompt if self.params else ""
        if self.params and self.params.is_edit:
            prompt = f"{self.params.task} {self.params.source_job} {prompt or ''}"
        slug = re.sub(r"[^a-z0-9]+", "-", prompt.lower()).strip("-")[:40].rstrip("-")
        ext = self.params.format if self.params else "wav"
        if self.edit is not None:  # an edit's format defaults to its source's
            ext = self.edit.fields.get("format", ext)
        return f"{self.line:04d}-{slug or 'job'}.{ext}"

    @property
    def label(self) -> str:
        prompt = self.params.prompt if self.params else self.text
        if self.params and self.params.is_edit:
            prompt = f"{self.params.task} of {self.params.source_job}"
        return prompt if len(prompt) <= 40 else prompt[:39] + "\u2026"


def parse_line(line: int, text: str) -> Item:
    item = Item(line, text)
    try:
        if text.startswith("{"):
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise InvalidParams(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(data, dict):
                raise InvalidParams("a JSON line must be an object")
            item.params = JobParams.parse(data)
        else:
            item.params = JobParams.parse({"prompt": text})
    except InvalidParams as exc:
        item.params = None
        item.error = f"invalid line: {exc}"
    return item


def parse(source: str) -> list[Item]:
    items = []
    for number, raw in enumerate(source.splitlines(), start=1):
        text = raw.strip()
        if text:
            items.append(parse_line(number, text))
    return items
