"""Effects from pedalboard (JUCE's DSP): echo, chorus and bus compression.

Each runs over a long buffer in place, chunk by chunk with the plugin's state
carried across chunks (``reset=False``), so no full-length copy is made and
the result is the same as one call over the whole buffer. Deterministic on
one machine; JUCE's vector code can differ in the last bits between CPU
families (SSE/AVX vs NEON), so renders are bit-identical per machine type,
not across them.
"""

from __future__ import annotations

import numpy as np
import pedalboard

from inference.base import SAMPLE_RATE

SR = SAMPLE_RATE
CHUNK = 1 << 16
# Genres whose lead line gets a tempo-synced echo (a dotted-eighth delay).
ECHO_GENRES = ("ambient", "cinematic", "electronic", "lofi", "pop")
# Instruments that get an ensemble chorus (the classic Rhodes and string-pad sound).
CHORUSED = ("electric piano", "pad", "strings")


def _run(board: pedalboard.Pedalboard, x: np.ndarray) -> None:
    board.reset()
    for s0 in range(0, x.size, CHUNK):
        x[s0:s0 + CHUNK] = board.process(x[s0:s0 + CHUNK], SR, reset=False)


def echo(x: np.ndarray, tempo: float) -> None:
    """Dotted-eighth echo, in place: the lead answers itself between phrases."""
    _run(pedalboard.Pedalboard([pedalboard.Delay(delay_seconds=0.75 * 60.0 / tempo,
                                                 feedback=0.3, mix=0.18)]), x)


def chorus(x: np.ndarray) -> None:
    """A slow, shallow chorus, in place: a moving ensemble instead of one static voice."""
    _run(pedalboard.Pedalboard([pedalboard.Chorus(rate_hz=0.6, depth=0.15,
                                                  centre_delay_ms=8.0, mix=0.35)]), x)


def glue(left: np.ndarray, right: np.ndarray, threshold_db: float) -> None:
    """Gentle bus compression, in place (2:1, slow attack so transients pass)."""
    comp = pedalboard.Compressor(threshold_db=threshold_db, ratio=2.0, attack_ms=25.0,
                                 release_ms=250.0)
    comp.reset()
    for s0 in range(0, left.size, CHUNK):
        y = comp.process(np.stack([left[s0:s0 + CHUNK], right[s0:s0 + CHUNK]]), SR,
                         reset=False)
        left[s0:s0 + CHUNK] = y[0]
        right[s0:s0 + CHUNK] = y[1]
