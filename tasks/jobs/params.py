"""The job's input contract, checked by the task itself (batch callers skip the API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

DURATIONS = (30, 60, 120)
DEFAULT_DURATION = 60
MAX_PROMPT = 500
MAX_GENRE = 50
MAX_SEED = 2**31 - 1


class InvalidParams(ValueError):
    """Bad job input. ``status`` is the HTTP status the API answers with."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class JobParams:
    prompt: str
    duration: int
    genre: str | None
    seed: int | None

    def as_dict(self) -> dict:
        return asdict(self)


def _whole(value):
    # JSON has one number type: 60.0 is the integer 60 (as JSON Schema says too).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def validate(prompt=None, duration=None, genre=None, seed=None) -> JobParams:
    if prompt is None:
        raise InvalidParams("prompt is required")
    if not isinstance(prompt, str):
        raise InvalidParams("prompt must be a string")
    prompt = prompt.strip()
    if not prompt:
        raise InvalidParams("prompt must not be empty")
    if len(prompt) > MAX_PROMPT:
        raise InvalidParams(f"prompt must be at most {MAX_PROMPT} characters (got {len(prompt)})")
    if duration is None:
        duration = DEFAULT_DURATION
    duration = _whole(duration)
    if isinstance(duration, bool) or not isinstance(duration, int) or duration not in DURATIONS:
        raise InvalidParams("duration must be one of 30, 60 or 120 seconds", status=400)
    if genre is not None:
        if not isinstance(genre, str):
            raise InvalidParams("genre must be a string")
        genre = genre.strip() or None
        if genre and len(genre) > MAX_GENRE:
            raise InvalidParams(f"genre must be at most {MAX_GENRE} characters")
    seed = _whole(seed)
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise InvalidParams(f"seed must be an integer from 0 to {MAX_SEED}")
    return JobParams(prompt, duration, genre, seed)
