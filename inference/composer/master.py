"""Mastering: DC removal, loudness normalisation and a peak limiter.

Loudness is an approximation of ITU-R BS.1770 integrated loudness: K-weighting
(the standard 48 kHz pre-filter and RLB high-pass), 400 ms blocks, the -70 LUFS
absolute gate and the -10 LU relative gate, without true-peak oversampling.
The limiter guarantees the *sample* peak stays below ``CEILING_DBFS``.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

SR = 48_000
TARGET_LUFS = -14.0
CEILING_DBFS = -1.0
# A little under the ceiling so 16-bit rounding can never land on it.
_CEILING = np.float32(10 ** ((CEILING_DBFS - 0.1) / 20))

_K_SOS = np.array([
    [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241,
     0.73248077421585],
    [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
])

_K_SOS32 = _K_SOS.astype(np.float32)


def loudness(channels: list[np.ndarray]) -> float:
    """Integrated loudness (LUFS, approximate) of equal-length channels."""
    block = int(0.4 * SR)
    hop = block // 4
    power = None
    for x in channels:
        k = signal.sosfilt(_K_SOS32, x) ** 2
        csum = np.concatenate(([0.0], np.cumsum(k, dtype=np.float64)))
        del k
        if csum.size - 1 < block:
            p = np.array([csum[-1] / max(csum.size - 1, 1)])
        else:
            starts = np.arange(0, csum.size - block, hop)
            p = (csum[starts + block] - csum[starts]) / block
        power = p if power is None else power + p
    levels = -0.691 + 10 * np.log10(np.maximum(power, 1e-12))
    gated = power[levels > -70]
    if gated.size == 0:
        return -70.0
    rel = -0.691 + 10 * np.log10(gated.mean()) - 10
    gated = power[levels > max(rel, -70)]
    return float(-0.691 + 10 * np.log10(gated.mean()))


def remove_dc(x: np.ndarray) -> np.ndarray:
    """Gentle 12 Hz high-pass (one pole pair) then mean removal."""
    sos = signal.butter(1, 12, "highpass", fs=SR, output="sos").astype(np.float32)
    y = signal.sosfilt(sos, x)
    return y - np.float32(y.mean())


def limit(left: np.ndarray, right: np.ndarray) -> None:
    """In-place brickwall limiter on linked channels.

    Gain is computed per 5 ms block, spread to neighbours with a 3-block
    minimum and interpolated between block centres; every interpolated value
    is <= the gain its block needs, so no sample exceeds the ceiling."""
    blk = 240
    n = left.size
    pad = (-n) % blk
    peak = np.maximum(np.abs(left), np.abs(right))
    if pad:
        peak = np.concatenate([peak, np.zeros(pad, np.float32)])
    need = np.minimum(1.0, _CEILING / np.maximum(peak.reshape(-1, blk).max(axis=1), 1e-9))
    del peak
    if need.min() >= 1.0:
        return
    g = need.copy()
    g[1:] = np.minimum(g[1:], need[:-1])
    g[:-1] = np.minimum(g[:-1], need[1:])
    centres = np.arange(g.size) * blk + blk / 2
    first = int(np.flatnonzero(g < 1).min() * blk)
    last = min(n, int((np.flatnonzero(g < 1).max() + 1) * blk))
    idx = np.arange(first, last, dtype=np.float64)
    gain = np.interp(idx, centres, g).astype(np.float32)
    left[first:last] *= gain
    right[first:last] *= gain


def master(left: np.ndarray, right: np.ndarray, target: float = TARGET_LUFS):
    """Normalise to ``target`` LUFS under the peak ceiling; returns (left, right)."""
    left, right = remove_dc(left), remove_dc(right)
    before = loudness([left, right])
    for _ in range(3):
        gain = np.float32(10 ** ((target - before) / 20)) if before > -70 else np.float32(1)
        left *= gain
        right *= gain
        rms0 = float(np.dot(left, left) + np.dot(right, right))
        limit(left, right)
        rms1 = float(np.dot(left, left) + np.dot(right, right))
        # limiting lowers loudness by about the energy it removed; make it up
        before = target + 10 * np.log10(max(rms1, 1e-20) / max(rms0, 1e-20))
        if abs(before - target) < 0.2:
            break
    peak = max(float(np.abs(left).max(initial=0)), float(np.abs(right).max(initial=0)))
    if peak > _CEILING:
        scale = np.float32(_CEILING / peak)
        left *= scale
        right *= scale
    return left, right
