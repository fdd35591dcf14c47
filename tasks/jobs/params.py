"""The job's input, declared once: the API body, a batch JSONL line and `send_task` kwargs alike.

`JobParams` is a pydantic model: its fields are the list of job inputs
(unknown names are refused by it, not by each caller), its constraints are the
limits, and `JobParams.model_json_schema()` is the OpenAPI request schema.
Validation errors become one short sentence naming the field (`InvalidParams`);
the API answers 400 for a bad duration (the guide says so) and 422 for the rest.
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from inference.contract import (
    MAX_BPM,
    MAX_GENRE_CHARS,
    MAX_LYRICS_CHARS,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MIN_BPM,
    TIME_SIGNATURES,
    VOCAL_LANGUAGES,
    lyric_sections,
    normalize_key,
)

DURATIONS = (30, 60, 120)
DEFAULT_DURATION = 60
# Fields that shape the delivered file, not the music: the engine never sees them.
WEBHOOK_FIELDS = ("webhook", "webhook_events_filter")  # API key clients only (web/, tasks/webhooks)
DELIVERY_FIELDS: tuple[str, ...] = ("format", "exports", *WEBHOOK_FIELDS)
WEBHOOK_EVENTS = ("started", "completed")  # completed: finished, failed or canceled
MAX_WEBHOOK_URL = 2048
FORMATS = ("wav", "flac", "mp3", "opus")
EXPORTS = ("midi", "stems")
SONG_FIELDS = ("lyrics", "instrumental", "vocal_language", "bpm", "key", "time_signature")
DEFAULT_VOCAL_LANGUAGE = "en"
# Editing a finished job (tasks/jobs/edits.py resolves the source): which
# fields each task takes; every other task-specific field is refused.
TASKS = ("text2music", "extend", "repaint", "cover")
EDIT_FIELDS = ("source_job", "extend_from", "extend_by", "start", "end", "strength")
TASK_FIELDS = {
    "text2music": (),
    "extend": ("source_job", "extend_from", "extend_by"),
    "repaint": ("source_job", "start", "end", "strength"),
    "cover": ("source_job", "strength"),
}
EXTEND_BY = (30, 60)
MAX_EDIT_DURATION = 240  # seconds: the longest result an edit may make
MIN_REPAINT, MAX_REPAINT = 3, 90  # seconds of repainted audio
DEFAULT_STRENGTH = 0.5
# The source's musical frame, which an extension must keep.
FRAME_FIELDS = ("bpm", "key", "time_signature")


class InvalidParams(ValueError):
    """Bad job input. ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


def _whole(value):
    # JSON has one number type: 60.0 is the integer 60 (as JSON Schema says too).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _text(value):
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text (no lone surrogates)") from None
        return value.strip()
    return value


# The 24 keys as the validator accepts them, for the OpenAPI document (JSON
# Schema regexes have no case flag, hence the classes). Narrower than the
# validator (single spaces only): every key the document allows is accepted.
_KEY_PATTERN = (
    "^ ?(?:[A-Ga-g]|[CcDdFfGgAa][#♯]|[DdEeGgAaBb][b♭B]) ?"
    "(?:[Mm][Aa][Jj](?:[Oo][Rr])?|[Mm][Ii][Nn](?:[Oo][Rr])?) ?$"
)
# "Not blank" as str.strip() sees it, spelled out: a JSON Schema (ECMA-262) \s
# lacks U+001C-U+001F and U+0085 and adds U+FEFF, so `\S` let a prompt of NEL
# characters through the document that the API then refused as empty.
_NOT_BLANK = (
    "[^\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)
# Lyrics (not blank) with instrumental: true is refused.
_NOT_SUNG_INSTRUMENTAL = {"not": {
    "required": ["lyrics", "instrumental"],
    "properties": {"lyrics": {"type": "string", "pattern": _NOT_BLANK},
                   "instrumental": {"const": True}},
}}

# A webhook_events_filter without a webhook is refused too.
_FILTER_WITHOUT_WEBHOOK = {
    "required": ["webhook_events_filter"],
    "properties": {"webhook_events_filter": {"type": "array"}},
    "not": {"required": ["webhook"], "properties": {"webhook": {"type": "string"}}},
}
_NOT_REFUSED = {"not": {"anyOf": [_NOT_SUNG_INSTRUMENTAL["not"], _FILTER_WITHOUT_WEBHOOK]}}


_EDITS = [t for t in TASKS if t != "text2music"]
_NULL = {"type": "null"}


def _when(*tasks: str) -> dict:
    return {"required": ["task"], "properties": {"task": {"enum": list(tasks)}}}


# The task rules JSON Schema can state (the validator below is the same rules);
# what needs the source (a range inside it, the result's length, end - start)
# is checked once the source is known (tasks/jobs/edits.py), after its 404/403.
_TASK_RULES = {"allOf": [
    _NOT_REFUSED,
    # A prompt, unless the task is one that inherits the source's.
    {"anyOf": [{"required": ["prompt"]}, _when("extend", "repaint")]},
    # Each edit field only with the tasks that take it (absent task: text2music).
    *[{"if": {"properties": {"task": {"not": {"enum": [t for t, names in TASK_FIELDS.items()
                                                       if name in names]}}}},
       "then": {"properties": {name: _NULL}}} for name in EDIT_FIELDS],
    {"if": _when(*_EDITS), "then": {"required": ["source_job"],
                                    "properties": {"source_job": {"type": "string"}},
                                    "not": {"required": ["duration"]}}},
    {"if": _when("extend"), "then": {"properties": {name: _NULL for name in FRAME_FIELDS}}},
    {"if": _when("repaint"), "then": {"required": ["start", "end"],
                                      "properties": {"start": {"type": "number"},
                                                     "end": {"type": "number"}}}},
]}


class JobParams(BaseModel):
    """What one job renders. Frozen: a validated job never changes."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, json_schema_extra=_TASK_RULES
    )

    # None only as the default (edits inherit the source's): null is refused.
    prompt: str = Field(  # type: ignore[assignment]
        default=None, min_length=1, max_length=MAX_PROMPT_CHARS, pattern=_NOT_BLANK,
        description="What to generate (not blank). Required for text2music and cover; "
                    "extend and repaint default to the source's",
    )
    duration: Literal[30, 60, 120] = Field(default=DEFAULT_DURATION, description="seconds")
    genre: str | None = Field(default=None, max_length=MAX_GENRE_CHARS)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    lyrics: str | None = Field(
        default=None, max_length=MAX_LYRICS_CHARS,
        description="Sung text; lines with optional [verse]/[chorus]/... section tags",
    )
    instrumental: bool | None = Field(
        default=None, description="Default: true without lyrics, false with them"
    )
    vocal_language: Literal[VOCAL_LANGUAGES] | None = Field(  # type: ignore[valid-type]
        default=None, description=f"Default {DEFAULT_VOCAL_LANGUAGE!r} when lyrics are given"
    )
    bpm: int | None = Field(default=None, ge=MIN_BPM, le=MAX_BPM, description="Tempo")
    key: str | None = Field(
        default=None, description="e.g. 'C major', 'F# minor', 'Bb major' (stored normalised)",
        json_schema_extra={"pattern": _KEY_PATTERN},
    )
    time_signature: Literal[TIME_SIGNATURES] | None = None  # type: ignore[valid-type]
    format: Literal[FORMATS] = Field(  # type: ignore[valid-type]
        default="wav", description="Audio file format (wav: 16-bit PCM; opus: Ogg Opus)"
    )
    task: Literal[TASKS] = Field(  # type: ignore[valid-type]
        default="text2music",
        description="text2music (a new piece) or an edit of `source_job`: extend, repaint, cover",
    )
    source_job: str | None = Field(
        default=None, max_length=64, description="The finished job an edit starts from"
    )
    extend_from: int | None = Field(
        default=None, ge=1, le=MAX_EDIT_DURATION,
        description="extend: seconds of the source kept (audio after it is dropped); default "
                    "the start of the source's outro, else its end",
    )
    extend_by: Literal[EXTEND_BY] | None = Field(  # type: ignore[valid-type]
        default=None, description="extend: seconds added (default 30)"
    )
    start: float | None = Field(default=None, ge=0, le=MAX_EDIT_DURATION,
                                description="repaint: first second repainted")
    end: float | None = Field(default=None, ge=0, le=MAX_EDIT_DURATION,
                              description="repaint: second the repainted range ends")
    strength: float | None = Field(
        default=None, ge=0, le=1,
        description="repaint/cover: how much of the source survives, 0-1 (default 0.5)",
    )
    exports: list[Literal[EXPORTS]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(EXPORTS),
        description="Files made beside the audio: 'midi' (the notes played) and 'stems' "
                    "(a zip of one FLAC per instrument group); engines that cannot make "
                    "one report it unavailable",
        json_schema_extra={"uniqueItems": True},
    )
    webhook: str | None = Field(
        default=None, max_length=MAX_WEBHOOK_URL, pattern="^https?://[^\\s]+$",
        description="API keys only: an https:// URL told of this job's events (Standard Webhooks)",
    )
    webhook_events_filter: list[Literal[WEBHOOK_EVENTS]] | None = Field(  # type: ignore[valid-type]
        default=None, min_length=1, max_length=2,
        description="Which events the webhook gets; default ['completed'] (finished, failed or "
        "canceled)",
    )

    @field_validator("prompt", "genre", "lyrics", mode="before")
    @classmethod
    def _strip(cls, value):
        return _text(value)

    @field_validator("lyrics", mode="before")
    @classmethod
    def _lyrics_as_sent(cls, value):
        # The limit counts what was sent (blank padding included), as the schema says;
        # defined after _strip because pydantic runs "before" validators last-first.
        if isinstance(value, str) and len(value) > MAX_LYRICS_CHARS:
            raise ValueError(f"must be a string of at most {MAX_LYRICS_CHARS} characters")
        return value

    @field_validator("genre", "lyrics")
    @classmethod
    def _blank_is_none(cls, value):
        return value or None

    @field_validator("lyrics")
    @classmethod
    def _tags_known(cls, value):
        if value is not None:
            lyric_sections(value)  # ValueError naming the unknown tag
        return value

    @field_validator("key")
    @classmethod
    def _normal_key(cls, value):
        return None if value is None else normalize_key(value)

    @field_validator("exports")
    @classmethod
    def _each_once(cls, value):
        if len(set(value)) != len(value):
            raise ValueError("must name each export at most once")
        return value

    @field_validator("duration", "seed", "bpm", "extend_from", "extend_by", mode="before")
    @classmethod
    def _whole_numbers(cls, value):
        return _whole(value)

    @model_validator(mode="after")
    def _task_fields(self):
        task, given = self.task, self.model_fields_set
        if task in ("text2music", "cover") and self.prompt is None:
            raise ValueError("prompt is required" + ("" if task == "text2music" else
                                                     " for task cover"))
        allowed = TASK_FIELDS[task]
        for name in EDIT_FIELDS:
            if name in given and getattr(self, name) is not None and name not in allowed:
                users = [t for t, names in TASK_FIELDS.items() if name in names]
                raise ValueError(f"`{name}` applies only to task {' or '.join(users)}")
        if task == "text2music":
            return self
        if self.source_job is None:
            raise ValueError(f"`source_job` is required for task {task}")
        if "duration" in given:
            raise ValueError(f"`duration` cannot be set for task {task}: the result's length "
                             "follows from the source")
        if task == "extend":
            frame = [name for name in FRAME_FIELDS if getattr(self, name) is not None]
            if frame:
                raise ValueError(f"extend keeps the source's tempo, key and meter: leave out "
                                 f"{', '.join(frame)}")
            if self.extend_by is None:
                object.__setattr__(self, "extend_by", EXTEND_BY[0])
        if task == "repaint" and (self.start is None or self.end is None):
            raise ValueError("repaint needs `start` and `end` (seconds)")
        if task in ("repaint", "cover") and self.strength is None:
            object.__setattr__(self, "strength", DEFAULT_STRENGTH)
        return self

    @model_validator(mode="after")
    def _song_defaults(self):
        if self.lyrics and self.instrumental:
            raise ValueError("`instrumental` cannot be true when `lyrics` are given")
        # Frozen model: the resolved defaults are set once, here, before anyone sees it.
        if self.instrumental is None:
            object.__setattr__(self, "instrumental", not self.lyrics)
        if self.lyrics and self.vocal_language is None:
            object.__setattr__(self, "vocal_language", DEFAULT_VOCAL_LANGUAGE)
        if self.webhook_events_filter is not None and self.webhook is None:
            raise ValueError("`webhook_events_filter` needs a `webhook`")
        if self.webhook is not None:
            wanted = self.webhook_events_filter or ["completed"]
            object.__setattr__(self, "webhook_events_filter", sorted(set(wanted)))
        return self

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)

    @classmethod
    def parse(cls, data: dict) -> JobParams:
        """Validate a mapping of inputs, raising InvalidParams with one clear sentence."""
        if not isinstance(data, dict):
            raise InvalidParams("job input must be a JSON object")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise _explain(exc) from None

    @classmethod
    def from_record(cls, record: dict) -> JobParams:
        """The inputs a job record holds (records carry other fields too).

        An edit's record holds its result's length as `duration`, which is
        no input of an edit."""
        names = [n for n in cls.names() if n in record]
        if record.get("task", "text2music") != "text2music":
            names.remove("duration")
        return cls.parse({name: record[name] for name in names})

    @property
    def is_edit(self) -> bool:
        return self.task != "text2music"

    def as_dict(self) -> dict:
        """Every field as resolved; song, webhook and edit fields not given and no exports
        are left out (and the task, for text2music: a plain job's record and message are as
        before edits)."""
        optional = (*SONG_FIELDS, *WEBHOOK_FIELDS, *EDIT_FIELDS, "prompt")
        out = {k: v for k, v in self.model_dump().items()
               if (k not in optional or v is not None) and (k != "exports" or v)}
        if not self.is_edit:
            out.pop("task")
        else:
            out.pop("duration")
        return out

    def engine_inputs(self) -> dict:
        """What the engine renders from (delivery options such as the file format excluded).

        Song fields not given are left out, and so is `instrumental` without
        lyrics when true (every engine's default): a plain request reaches an
        engine exactly as before the song fields existed.
        """
        inputs = {k: v for k, v in self.as_dict().items()
                  if k not in (*DELIVERY_FIELDS, *EDIT_FIELDS, "task")}
        if not self.lyrics and self.instrumental:
            inputs.pop("instrumental")
        return inputs


def validate(**fields) -> JobParams:
    return JobParams.parse(fields)


# Messages the guide's clients already see; other fields get pydantic's own words.
_MESSAGES = {
    "prompt": {
        "missing": "prompt is required",
        "string_type": "prompt must be a string",
        "string_too_short": "prompt must not be empty",
        "string_pattern_mismatch": "prompt must not be empty",
        "string_too_long": f"prompt must be at most {MAX_PROMPT_CHARS} characters",
    },
    "key": {"string_type": "key must be a string such as 'C major', 'F# minor' or 'Bb major'"},
    "genre": {
        "string_type": "genre must be a string",
        "string_too_long": f"genre must be at most {MAX_GENRE_CHARS} characters",
    },
}
_FIELD_MESSAGES = {
    "duration": "duration must be one of 30, 60 or 120 seconds",
    "seed": f"seed must be an integer from 0 to {MAX_SEED}",
    "lyrics": f"lyrics must be a string of at most {MAX_LYRICS_CHARS} characters",
    "instrumental": "instrumental must be true or false",
    "vocal_language": f"vocal_language must be one of {', '.join(VOCAL_LANGUAGES)}",
    "bpm": f"bpm must be an integer from {MIN_BPM} to {MAX_BPM}",
    "time_signature": f"time_signature must be one of {', '.join(TIME_SIGNATURES)}",
    "format": f"format must be one of {', '.join(FORMATS)}",
    "task": f"task must be one of {', '.join(TASKS)}",
    "source_job": "source_job must be a job id",
    "extend_from": f"extend_from must be a whole number of seconds from 1 to {MAX_EDIT_DURATION}",
    "extend_by": "extend_by must be 30 or 60 seconds",
    "start": f"start must be a number of seconds from 0 to {MAX_EDIT_DURATION}",
    "end": f"end must be a number of seconds from 0 to {MAX_EDIT_DURATION}",
    "strength": "strength must be a number from 0 to 1",
    "exports": f"exports must be a list of distinct names from {', '.join(EXPORTS)}",
    "webhook": f"webhook must be an https:// URL of at most {MAX_WEBHOOK_URL} characters",
    "webhook_events_filter": f"webhook_events_filter must be a list of {', '.join(WEBHOOK_EVENTS)}",
}
_STATUS = {"duration": 400}


def _explain(exc: ValidationError) -> InvalidParams:
    errors = exc.errors()
    unknown = sorted(str(e["loc"][0]) for e in errors if e["type"] == "extra_forbidden")
    if unknown:
        return InvalidParams(f"Unknown field(s): {', '.join(unknown)}")
    order = JobParams.names()
    first = min(errors, key=lambda e: order.index(e["loc"][0]) if e["loc"] else -1)
    own = first["msg"].removeprefix("Value error, ")  # our validators' own sentences
    if not first["loc"]:
        return InvalidParams(own.replace("`", ""))
    name = str(first["loc"][0])
    message = None
    if first["type"] == "value_error":
        message = own.replace("`", "") if f"`{name}`" in own else f"{name} {own}"
    message = message or _MESSAGES.get(name, {}).get(first["type"]) or _FIELD_MESSAGES.get(name)
    if message is None:
        message = f"{name}: {first['msg'][:1].lower()}{first['msg'][1:]}"
    if name == "prompt" and first["type"] == "string_too_long":
        message += f" (got {len(first['input'].strip())})"
    return InvalidParams(message, _STATUS.get(name, 422))
