"""Batch generation without the API: `python -m tasks.batch PROMPTS --out DIR`.

PROMPTS is JSONL (JobParams fields per line: prompt, duration, lyrics, format, ...)
or plain text (one prompt per line). Each line becomes a Celery job with a stable
id (see tasks/batch_items.py); its audio file (WAV, or the line's `format`) is
downloaded from storage into DIR, and beside it the line's `exports`
(NNNN-slug.mid, NNNN-slug_stems.zip) where its engine could make them.

Resumable: a rerun skips lines whose file is already in DIR, re-attaches to
jobs still queued or running, downloads finished ones, and submits again the
ones that failed, were canceled or whose audio expired. Prints one line per
job status change on stderr, a summary table on stdout (and DIR/summary.jsonl);
exits 1 if any line failed or was still unfinished at --timeout, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import redis

from inference.contract import resolve_seed
from storage import StorageError, audio_key
from tasks.batch_items import Item, parse
from tasks.jobs.status import ACTIVE, Status

OWNER = "batch"
DONE, FAILED, PENDING, SKIPPED = "done", "failed", "pending", "skipped"


class Batch:
    def __init__(self, items: list[Item], out: Path, *, poll: float = 0.5, stream=sys.stderr):
        from tasks.config.services import audio_storage, job_store
        from tasks.config.settings import get_settings

        self.items = items
        self.out = out
        self.poll = poll
        self.stream = stream
        self.settings = get_settings()
        self.jobs = job_store()
        self.storage = audio_storage()
        self.state: dict[int, str] = {}  # line -> DONE/FAILED/PENDING/SKIPPED
        self.seen: dict[int, str] = {}  # line -> last job status shown
        self.notes: dict[int, str] = {}  # line -> error or remark
        self.seconds: dict[int, float] = {}

    # --- output -----------------------------------------------------------------
    def say(self, item: Item, message: str) -> None:
        finished = sum(s in (DONE, FAILED, SKIPPED) for s in self.state.values())
        print(f"[{finished:>3}/{len(self.items)}] line {item.line:<4} {item.label}: {message}",
              file=self.stream, flush=True)

    def settle(self, item: Item, state: str, note: str = "") -> None:
        self.state[item.line] = state
        if note:
            self.notes[item.line] = note
        self.say(item, state + (f" ({note})" if note else ""))

    # --- submitting and attaching ------------------------------------------------
    def start(self) -> None:
        for item in self.items:
            if item.params is None:
                self.settle(item, FAILED, item.error or "invalid line")
                continue
            if item.params.is_edit and not self._resolve(item):
                continue
            if (self.out / item.filename).exists():
                self.settle(item, SKIPPED, f"{item.filename} already there")
                continue
            try:
                self._start_one(item)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                self.settle(item, FAILED, f"job store unreachable: {exc}")

    def _start_one(self, item: Item) -> None:
        record = self.jobs.get(item.job_id)
        status = record.get("status") if record else None
        if status in ACTIVE:
            self.state[item.line] = PENDING
            self.seen[item.line] = status
            self.say(item, f"re-attached to job {item.job_id} ({status})")
            return
        if status == Status.FINISHED and not record.get("expired"):
            self.state[item.line] = PENDING  # download on the first poll
            return
        if record is not None:  # failed, canceled, expired: run it again
            why = record.get("error") or ("audio expired" if record.get("expired") else status)
            self.say(item, f"previous run {status} ({why}); submitting again")
            self.jobs.delete(item.job_id)
        self._submit(item)

    def _resolve(self, item: Item) -> bool:
        """An edit line's source, checked as the task checks it (an operator may edit any
        job; it must be finished before this run starts)."""
        from tasks.jobs.edits import SourceRefused, resolve
        from tasks.jobs.params import InvalidParams

        try:
            item.edit = resolve(self.jobs, item.params, None)
        except (InvalidParams, SourceRefused) as exc:
            self.settle(item, FAILED, f"invalid line: {exc}")
            return False
        return True

    def _submit(self, item: Item) -> None:
        from tasks.jobs.submit import enqueue

        params = item.params
        if item.edit is not None:
            fields, stored, duration = (item.edit.fields, item.edit.record_fields(),
                                        item.edit.duration)
        else:
            fields = {**params.as_dict(), "seed": resolve_seed(params.seed)}
            stored, duration = fields, params.duration
        self.jobs.create(item.job_id, OWNER, stored)
        try:
            enqueue(self.settings, item.job_id, fields, duration=duration)
        except Exception as exc:
            self.jobs.delete(item.job_id)
            self.settle(item, FAILED, f"could not queue the job: {exc}")
            return
        self.state[item.line] = PENDING
        self.seen[item.line] = Status.QUEUED
        self.say(item, f"submitted as {item.job_id}")

    # --- waiting -----------------------------------------------------------------
    def wait(self, timeout: float | None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pending = [i for i in self.items if self.state.get(i.line) == PENDING]
            if not pending:
                return
            for item in pending:
                try:
                    self._check(item)
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    self.say(item, f"job store unreachable ({exc}); still waiting")
                    break
            if deadline is not None and time.monotonic() > deadline:
                for item in self.items:
                    if self.state.get(item.line) == PENDING:
                        self.notes[item.line] = "still running at --timeout; rerun to re-attach"
                return
            if any(self.state.get(i.line) == PENDING for i in self.items):
                time.sleep(self.poll)

    def _check(self, item: Item) -> None:
        record = self.jobs.get(item.job_id)
        if record is None:
            self.settle(item, FAILED, "job record disappeared (expired or deleted)")
            return
        status = record["status"]
        if status != self.seen.get(item.line):
            self.seen[item.line] = status
            if status in ACTIVE:
                self.say(item, status)
        if status == Status.FINISHED:
            if record.get("expired"):
                self.settle(item, FAILED, "audio expired before it was downloaded")
                return
            self._download(item, record)
        elif status in (Status.FAILED, Status.CANCELED):
            self.settle(item, FAILED, record.get("error") or status)

    def _download(self, item: Item, record: dict) -> None:
        dest = self.out / item.filename
        try:
            # exports first: the audio file in DIR is what marks the line done
            saved = self._exports(item, record)
            self._fetch(record.get("audio_key") or audio_key(item.job_id), dest)
        except (StorageError, KeyError, OSError) as exc:
            self.settle(item, FAILED, f"download failed: {exc}")
            return
        if record.get("run_seconds") is not None:
            self.seconds[item.line] = float(record["run_seconds"])
        self.settle(item, DONE, ", ".join([f"saved {dest.name}", *saved]))

    def _fetch(self, key: str, dest: Path) -> None:
        partial = dest.with_name(dest.name + ".part")
        try:
            self.storage.download(key, partial)
            os.replace(partial, dest)  # a file in DIR is always complete
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def _exports(self, item: Item, record: dict) -> list[str]:
        """Each export beside the audio (NNNN-slug.mid, NNNN-slug_stems.zip), or why not."""
        out = []
        base = Path(item.filename).stem
        for name, made in (record.get("exports_made") or {}).items():
            if made.get("unavailable"):
                out.append(f"{name} unavailable: {made.get('reason')}")
                continue
            dest = self.out / (f"{base}.mid" if name == "midi" else f"{base}_{name}.zip")
            self._fetch(made["key"], dest)
            out.append(f"saved {dest.name}")
        return out

    # --- results -----------------------------------------------------------------
    def rows(self) -> list[dict]:
        rows = []
        for item in self.items:
            state = self.state.get(item.line, PENDING)
            done = state in (DONE, SKIPPED)
            rows.append({
                "line": item.line,
                "status": state,
                "job_id": item.job_id if item.params else None,
                "file": item.filename if done else None,
                "run_seconds": self.seconds.get(item.line),
                "note": self.notes.get(item.line, ""),
            })
        return rows

    def ok(self) -> bool:
        return all(row["status"] in (DONE, SKIPPED) for row in self.rows())


def table(rows: list[dict]) -> str:
    header = ("line", "status", "job id", "run s", "file / error")
    body = [
        (str(r["line"]), r["status"], r["job_id"] or "-",
         "-" if r["run_seconds"] is None else f"{r['run_seconds']:.1f}",
         r["file"] if r["status"] in (DONE, SKIPPED) else r["note"])
        for r in rows
    ]
    widths = [max(len(row[i]) for row in (header, *body)) for i in range(4)]
    lines = []
    for row in (header, *body):
        cells = [row[i].ljust(widths[i]) for i in range(4)] + [row[4]]
        lines.append("  ".join(cells).rstrip())
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines.append(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tasks.batch",
        description="Generate one WAV per line of PROMPTS (JSONL or plain text) into DIR.",
    )
    parser.add_argument("prompts", type=Path, help="JSONL or plain-text prompts file")
    parser.add_argument("--out", type=Path, required=True, help="directory for the WAV files")
    parser.add_argument("--timeout", type=float, default=None,
                        help="stop waiting after this many seconds (jobs keep running)")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between status checks")
    args = parser.parse_args(argv)

    try:
        source = args.prompts.read_text(encoding="utf-8")
    except OSError as exc:
        parser.error(f"cannot read {args.prompts}: {exc.strerror or exc}")
    items = parse(source)
    if not items:
        parser.error(f"{args.prompts} has no prompts")
    args.out.mkdir(parents=True, exist_ok=True)

    batch = Batch(items, args.out, poll=args.poll)
    try:
        batch.start()
        batch.wait(args.timeout)
    except KeyboardInterrupt:
        print("\ninterrupted: submitted jobs keep running; run the same command again to "
              "collect them", file=sys.stderr)
        return 130
    rows = batch.rows()
    with open(args.out / "summary.jsonl", "w", encoding="utf-8") as summary:
        for row in rows:
            summary.write(json.dumps(row) + "\n")
    print(table(rows))
    return 0 if batch.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
