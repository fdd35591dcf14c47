"""Engine failures. No numpy here: the job layer catches these without loading an engine."""

from __future__ import annotations


class EngineError(RuntimeError):
    """A job-level failure whose message is safe to show to the user."""


class EngineSetupError(RuntimeError):
    """The engine cannot start; the worker must refuse to take jobs."""


class OutOfMemoryError(EngineError):
    def __init__(self, message: str = "out of GPU memory") -> None:
        super().__init__(message)


class InvalidAudioError(EngineError):
    def __init__(self, message: str = "model produced invalid audio") -> None:
        super().__init__(message)
