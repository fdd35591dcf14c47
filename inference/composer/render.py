"""Turning notes and hits into sample buffers.

Notes are synthesised once per (instrument, pitch) at the longest length the
part needs and then copied, cut and faded per note; that cache is what keeps
a two-minute render within the CPU budget.
"""

from __future__ import annotations

import numpy as np

from inference.composer.instruments import SR, VOICES


def beat_times(beats: np.ndarray, tempo: float, swing: float, sixteenths: bool) -> np.ndarray:
    """Beats -> seconds; swing delays off-beat eighths (and sixteenths) toward triplets."""
    frac = np.mod(beats, 1.0)
    shift = np.where(np.isclose(frac, 0.5), swing / 6.0, 0.0)
    if sixteenths:
        shift += np.where(np.isclose(frac, 0.25) | np.isclose(frac, 0.75), swing / 12.0, 0.0)
    return (beats + shift) * 60.0 / tempo


def _release_ramp(n: int) -> np.ndarray:
    return np.cos(np.linspace(0, np.pi / 2, max(n, 1), dtype=np.float32)) ** 2


def render_notes(inst: str, notes: list, total: int, tempo: float, swing: float,
                 jitter: float, rng, played: list | None = None) -> np.ndarray:
    """Mono buffer of ``total`` samples for one instrument's notes; ``played``
    (when given) gets each note as performed: (onset s, length s, pitch, velocity)."""
    voice = VOICES[inst]
    out = np.zeros(total, np.float32)
    if not notes:
        return out
    arr = np.array(notes, dtype=np.float64)
    starts = beat_times(arr[:, 0], tempo, swing, swing > 0.3)
    starts = starts + rng.normal(0, jitter, len(arr))
    lengths = arr[:, 1] * 60.0 / tempo
    pitches = arr[:, 2].astype(int)
    vels = arr[:, 3] * rng.uniform(0.92, 1.0, len(arr))
    rel = int(voice.release * SR)
    ramp = _release_ramp(rel)
    cap = int(voice.max_len * SR)
    held = np.minimum((lengths * SR).astype(int), cap)
    if played is not None:
        played += [(max(0, int(round(t * SR))) / SR, float(h) / SR, int(p), float(v))
                   for t, h, p, v in zip(starts, held, pitches, vels, strict=True)
                   if int(round(t * SR)) < total]
    for p in np.unique(pitches):
        sel = np.flatnonzero(pitches == p)
        n_max = int(held[sel].max()) + rel
        wave = voice.render(int(p), n_max, np.random.default_rng(rng.integers(2**32)))
        wave = np.asarray(wave, np.float32)
        for i in sel:
            s0 = max(0, int(round(starts[i] * SR)))
            n = min(int(held[i]) + rel, total - s0)
            if n <= 0:
                continue
            seg = wave[:n] * np.float32(vels[i])
            k = int(held[i])
            if k < n:
                seg[k:] *= ramp[: n - k]
            out[s0:s0 + n] += seg
    return out


def render_hits(hits: list, kit: dict, tempo: float, swing: float, jitter: float, rng,
                left: np.ndarray, right: np.ndarray, send: np.ndarray, send_amt: float,
                played: list | None = None) -> None:
    """Adds the drum hits straight into the stereo mix and the half-rate reverb bus;
    ``played`` (when given) gets each hit as performed: (onset s, name, velocity)."""
    if not hits:
        return
    total = left.size
    half = {k: ((v[0][: v[0].size // 2 * 2:2] + v[0][1: v[0].size // 2 * 2:2])
                * np.float32(0.5 * send_amt)) for k, v in kit.items()}
    # Pan depends only on the sound: its gains are computed once per kit sound.
    pans = {k: (np.sqrt(0.5 * (1 - pan)), np.sqrt(0.5 * (1 + pan))) for k, (_, pan) in kit.items()}
    beats = np.array([h[0] for h in hits])
    times = beat_times(beats, tempo, swing, swing > 0.3) + rng.normal(0, jitter, len(hits))
    for (_, name, vel), t in zip(hits, times, strict=True):
        sound = kit[name][0]
        s0 = max(0, int(round(t * SR)))
        n = min(sound.size, total - s0)
        if n <= 0:
            continue
        if played is not None:
            played.append((s0 / SR, name, float(vel)))
        gl = np.float32(vel * pans[name][0])
        gr = np.float32(vel * pans[name][1])
        left[s0:s0 + n] += sound[:n] * gl
        right[s0:s0 + n] += sound[:n] * gr
        h0 = s0 // 2
        hn = min(half[name].size, send.size - h0)
        send[h0:h0 + hn] += half[name][:hn] * np.float32(vel)
