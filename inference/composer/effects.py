"""Mix effects: reverb, guitar amp, sidechain pumping and panning."""

from __future__ import annotations

import numpy as np
from scipy import fft, signal

SR = 48_000


def reverb_ir(decay: float, rng, pre_delay: float = 0.02) -> np.ndarray:
    """Stereo (2, n) impulse response: decorrelated noise with a decay that is
    faster for highs than lows, plus a few early reflections."""
    n = int((decay * 1.1 + pre_delay) * SR)
    t = np.arange(n, dtype=np.float32) / SR
    irs = []
    for _ in range(2):
        noise = rng.standard_normal(n).astype(np.float32)
        sos = signal.butter(1, 2500, "lowpass", fs=SR, output="sos").astype(np.float32)
        low = signal.sosfilt(sos, noise)
        high = noise - low
        tail = low * np.exp(-6.9 * t / decay) + high * np.exp(-6.9 * t / (decay * 0.45))
        tail *= np.clip((t - pre_delay) / 0.03, 0, 1)
        early = rng.uniform(0.005, pre_delay + 0.03, 6)
        for delay, gain in zip(early, rng.uniform(0.2, 0.5, 6), strict=True):
            tail[int(delay * SR)] += gain * (1 if rng.random() < .5 else -1)
        irs.append(tail / np.sqrt(np.sum(tail**2)))
    return np.stack(irs).astype(np.float32)


def convolve_reverb(send: np.ndarray, ir: np.ndarray, left: np.ndarray, right: np.ndarray,
                    wet: float) -> None:
    """Adds the reverb of ``send`` into left/right, in fixed-size FFT blocks so
    memory stays bounded however long the piece is."""
    k = ir.shape[1]
    nfft = fft.next_fast_len(max(2**18, 4 * k), real=True)
    block = nfft - k + 1
    spec = fft.rfft(ir, nfft, axis=1)
    total = send.size
    for s0 in range(0, total, block):
        chunk = send[s0:s0 + block]
        if not chunk.any():
            continue
        x = fft.rfft(chunk, nfft)
        for ch, dest in enumerate((left, right)):
            y = fft.irfft(x * spec[ch], nfft)
            n = min(nfft, total - s0)
            dest[s0:s0 + n] += y[:n].astype(np.float32) * np.float32(wet)


def amp(x: np.ndarray, drive: float) -> np.ndarray:
    """Guitar amp: pre-emphasis, asymmetric tanh clipping, 4x12-ish cabinet."""
    pre = signal.butter(1, 300, "highpass", fs=SR, output="sos").astype(np.float32)
    y = signal.sosfilt(pre, x) * np.float32(drive)
    y = np.tanh(y + np.float32(0.1)) - np.float32(np.tanh(0.1))
    cab = signal.butter(4, 4500, "lowpass", fs=SR, output="sos").astype(np.float32)
    y = signal.sosfilt(cab, y)
    return (y / np.float32(max(1.0, drive ** 0.35))).astype(np.float32)


def sidechain(total: int, tempo: float, depth: float) -> np.ndarray:
    """Gain curve that ducks on every beat, the four-on-the-floor 'pump'."""
    beat = int(round(60.0 / tempo * SR))
    t = np.arange(beat, dtype=np.float32) / SR
    one = 1 - depth * np.exp(-t / 0.09) * np.clip(t / 0.005, 0, 1)
    reps = -(-total // beat)
    return np.tile(one.astype(np.float32), reps)[:total]


def pan_gains(pan: float) -> tuple[np.float32, np.float32]:
    """Constant-power pan law, pan in -1..1."""
    angle = (pan + 1) * np.pi / 4
    return np.float32(np.cos(angle)), np.float32(np.sin(angle))


def haas(x: np.ndarray, ms: float) -> np.ndarray:
    """Delayed copy for width on sustained parts (placed opposite the dry side)."""
    d = int(ms * SR / 1000)
    out = np.zeros_like(x)
    out[d:] = x[:-d]
    return out
