"""Mastering: DC removal, loudness normalisation and a true-peak limiter.

Loudness is ITU-R BS.1770 integrated loudness: K-weighting (the standard
48 kHz pre-filter and RLB high-pass), 400 ms blocks, the -70 LUFS absolute
gate and the -10 LU relative gate, computed in float32 chunks (pyloudnorm
gives the same figure within 0.05 LU but holds several float64 copies of the
piece, ~90 MB at 120 s, and takes 3x the time; the tests and the bench check
this one against it). The limiter keeps the *true* peak (4x oversampled, as
BS.1770-4 Annex 2) at or below ``CEILING_DBFS`` dBTP, so the delivered file
does not clip when a player or codec reconstructs the waveform.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from inference.base import SAMPLE_RATE
from inference.composer import fx
from inference.composer.effects import sosfilt_inplace

SR = SAMPLE_RATE
TARGET_LUFS = -14.0
CEILING_DBFS = -1.0
GLUE_DB = -4.0  # bus compressor threshold, dB relative to the target loudness
# A little under the ceiling so 16-bit rounding can never land on it.
_CHUNK = 240_000  # whole 100 ms loudness hops and 5 ms limiter blocks
_CEILING = np.float32(10 ** ((CEILING_DBFS - 0.1) / 20))

_K_SOS = np.array([
    [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241,
     0.73248077421585],
    [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
])

K_SOS32 = _K_SOS.astype(np.float32)


def loudness(channels: list[np.ndarray]) -> float:
    """Integrated loudness (LUFS, approximate) of equal-length channels."""
    hop = int(0.1 * SR)  # 400 ms blocks with 75 % overlap = sums of four 100 ms hops
    power = None
    for x in channels:
        zi = np.zeros((2, 2), np.float32)
        sums = []
        for s0 in range(0, x.size, _CHUNK):
            k, zi = signal.sosfilt(K_SOS32, x[s0:s0 + _CHUNK], zi=zi)
            k *= k
            usable = k.size - k.size % hop
            sums.append(k[:usable].reshape(-1, hop).sum(axis=1, dtype=np.float64))
            if usable < k.size:
                sums.append(np.array([k[usable:].sum(dtype=np.float64)]))
        hops = np.concatenate(sums)
        power = hops if power is None else power + hops
    if power.size >= 4:
        power = (power[:-3] + power[1:-2] + power[2:-1] + power[3:]) / (4 * hop)
    else:
        power = np.array([power.sum() / channels[0].size])
    levels = -0.691 + 10 * np.log10(np.maximum(power, 1e-12))
    gated = power[levels > -70]
    if gated.size == 0:
        return -70.0
    rel = -0.691 + 10 * np.log10(gated.mean()) - 10
    gated = power[levels > max(rel, -70)]
    return float(-0.691 + 10 * np.log10(gated.mean()))


def remove_dc(x: np.ndarray) -> None:
    """In place: gentle 12 Hz high-pass, then mean removal."""
    sosfilt_inplace(signal.butter(1, 12, "highpass", fs=SR, output="sos"), x)
    x -= np.float32(x.mean(dtype=np.float64))


_BLK = 240  # 5 ms limiter blocks
OVERSAMPLE = 4
# Reconstruction can rise above the samples by a few dB at most in music:
# only blocks whose sample peak is this close to the ceiling are oversampled.
_TP_WINDOW = np.float32(10 ** (-4 / 20))
_PAD = 64  # input samples of context either side of an oversampled run
# The interpolation filter, designed once: scipy's resample_poly filter for 4x
# (81 taps, Kaiser beta 5), closer to ideal than BS.1770-4's 48-tap example, so
# it finds a little more; its group delay is undone when reading peaks back.
_INTERP = (signal.firwin(2 * 10 * OVERSAMPLE + 1, 1 / OVERSAMPLE, window=("kaiser", 5.0))
           * OVERSAMPLE).astype(np.float32)
_DELAY = (_INTERP.size - 1) // 2


def block_peaks(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Sample peak of each 5 ms block, both channels."""
    n = left.size
    peaks = []
    for s0 in range(0, n, _CHUNK):
        p = np.maximum(np.abs(left[s0:s0 + _CHUNK]), np.abs(right[s0:s0 + _CHUNK]))
        full = p.size - p.size % _BLK
        peaks.append(p[:full].reshape(-1, _BLK).max(axis=1))
        if full < p.size:
            peaks.append(p[full:].max(keepdims=True))
    return np.concatenate(peaks)


def true_block_peaks(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """True peak (4x oversampled) of each 5 ms block, where it can matter:
    blocks far below the ceiling keep their sample peak."""
    peaks = block_peaks(left, right)
    near = np.flatnonzero(peaks > _CEILING * _TP_WINDOW)
    if near.size == 0:
        return peaks
    # runs of nearby blocks are oversampled in one piece
    breaks = np.flatnonzero(np.diff(near) > 4)
    for a, b in zip(np.r_[0, breaks + 1], np.r_[breaks, near.size - 1], strict=True):
        first, last = int(near[a]), int(near[b])
        s0, s1 = first * _BLK, min(left.size, (last + 1) * _BLK)
        c0, c1 = max(0, s0 - _PAD), min(left.size, s1 + _PAD)
        top = None
        for x in (left, right):
            up = np.abs(signal.upfirdn(_INTERP, x[c0:c1], OVERSAMPLE))
            at = (s0 - c0) * OVERSAMPLE + _DELAY
            up = up[at:at + (s1 - s0) * OVERSAMPLE]
            top = up if top is None else np.maximum(top, up)
        whole = top.size - top.size % (_BLK * OVERSAMPLE)
        tp = top[:whole].reshape(-1, _BLK * OVERSAMPLE).max(axis=1)
        if whole < top.size:
            tp = np.append(tp, top[whole:].max())
        peaks[first:last + 1] = np.maximum(peaks[first:last + 1], tp)
    return peaks


def limit(left: np.ndarray, right: np.ndarray, peaks: np.ndarray | None = None) -> None:
    """In-place brickwall limiter on linked channels, on the blocks' ``peaks``
    (default: their sample peaks).

    Gain is computed per 5 ms block, spread to neighbours with a 3-block
    minimum and interpolated between block centres; every interpolated value
    is <= the gain its block needs, so no block exceeds the ceiling."""
    blk = _BLK
    n = left.size
    if peaks is None:
        peaks = block_peaks(left, right)
    need = np.minimum(1.0, _CEILING / np.maximum(peaks, 1e-9))
    if need.min() >= 1.0:
        return
    g = need.copy()
    g[1:] = np.minimum(g[1:], need[:-1])
    g[:-1] = np.minimum(g[:-1], need[1:])
    centres = np.arange(g.size) * blk + blk / 2
    low = np.flatnonzero(g < 1)
    first, last = int(low.min() * blk), min(n, int((low.max() + 1) * blk))
    for s0 in range(first, last, _CHUNK):
        s1 = min(last, s0 + _CHUNK)
        gain = np.interp(np.arange(s0, s1), centres, g).astype(np.float32)
        left[s0:s1] *= gain
        right[s0:s1] *= gain


def master(left: np.ndarray, right: np.ndarray, target: float = TARGET_LUFS) -> None:
    """Normalise to ``target`` LUFS under the peak ceiling, in place."""
    remove_dc(left)
    remove_dc(right)
    before = loudness([left, right])
    if before > -70:
        gain = np.float32(10 ** ((target - before) / 20))
        left *= gain
        right *= gain
        fx.glue(left, right, target + GLUE_DB)
        before = loudness([left, right])
    for _ in range(3):
        gain = np.float32(10 ** ((target - before) / 20)) if before > -70 else np.float32(1)
        left *= gain
        right *= gain
        rms0 = float(np.dot(left, left) + np.dot(right, right))
        limit(left, right)
        for _ in range(3):  # then on the true peaks (the gain curve itself can add a little)
            tp = true_block_peaks(left, right)
            if tp.max() <= _CEILING:
                break
            limit(left, right, tp)
        rms1 = float(np.dot(left, left) + np.dot(right, right))
        # limiting lowers loudness by about the energy it removed; make it up
        before = target + 10 * np.log10(max(rms1, 1e-20) / max(rms0, 1e-20))
        if abs(before - target) < 0.2:
            break
    peak = max(_peak(left), _peak(right))
    if peak > _CEILING:
        scale = np.float32(_CEILING / peak)
        left *= scale
        right *= scale


def _peak(x: np.ndarray) -> float:
    return max((float(np.abs(x[s:s + _CHUNK]).max()) for s in range(0, x.size, _CHUNK)),
               default=0.0)
