"""Mix effects: reverb, guitar amp, sidechain pumping and panning."""

from __future__ import annotations

import numpy as np
from scipy import fft, signal

from inference.base import SAMPLE_RATE

SR = SAMPLE_RATE


CHUNK = 1 << 18


def sosfilt_inplace(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Filter a long buffer in place, chunk by chunk, so no full-length copy exists."""
    sos = sos.astype(np.float32)
    zi = np.zeros((sos.shape[0], 2), np.float32)
    for s0 in range(0, x.size, CHUNK):
        x[s0:s0 + CHUNK], zi = signal.sosfilt(sos, x[s0:s0 + CHUNK], zi=zi)
    return x


def reverb_ir(decay: float, rng, pre_delay: float = 0.02, sr: int = SR // 2) -> np.ndarray:
    """Stereo (2, n) impulse response at ``sr``: decorrelated noise with a decay
    that is faster for highs than lows, plus a few early reflections."""
    n = int((decay * 1.1 + pre_delay) * sr)
    t = np.arange(n, dtype=np.float32) / sr
    irs = []
    for _ in range(2):
        noise = rng.standard_normal(n).astype(np.float32)
        sos = signal.butter(1, 2500, "lowpass", fs=sr, output="sos").astype(np.float32)
        low = signal.sosfilt(sos, noise)
        high = noise - low
        tail = low * np.exp(-6.9 * t / decay) + high * np.exp(-6.9 * t / (decay * 0.45))
        tail *= np.clip((t - pre_delay) / 0.03, 0, 1)
        early = rng.uniform(0.005, pre_delay + 0.03, 6)
        for delay, gain in zip(early, rng.uniform(0.2, 0.5, 6), strict=True):
            tail[int(delay * sr)] += gain * (1 if rng.random() < .5 else -1)
        irs.append(tail / np.sqrt(np.sum(tail**2)))
    return np.stack(irs).astype(np.float32)


def send_add(send: np.ndarray, buf: np.ndarray, amount: float) -> None:
    """The reverb bus runs at half rate: a reverb tail needs no content above
    12 kHz, and it halves both the bus memory and the convolution cost."""
    if amount <= 0:
        return
    for s0 in range(0, buf.size, 2 * CHUNK):
        seg = buf[s0:s0 + 2 * CHUNK]
        send[s0 // 2:s0 // 2 + seg.size // 2] += (seg[0::2] + seg[1::2]) * np.float32(
            0.5 * amount)


def convolve_reverb(send: np.ndarray, ir: np.ndarray, left: np.ndarray, right: np.ndarray,
                    wet: float) -> None:
    """Adds the reverb of the half-rate ``send`` into full-rate left/right, in
    fixed-size FFT blocks so memory stays bounded however long the piece is."""
    k = ir.shape[1]
    nfft = fft.next_fast_len(max(2**17, 4 * k), real=True)
    block = nfft - k + 1
    spec = fft.rfft(ir, nfft, axis=1)
    for s0 in range(0, send.size, block):
        chunk = send[s0:s0 + block]
        if not chunk.any():
            continue
        x = fft.rfft(chunk, nfft)
        for ch, dest in enumerate((left, right)):
            y = fft.irfft(x * spec[ch], nfft).astype(np.float32) * np.float32(wet)
            yp = np.append(y, np.float32(0))  # the block's tail has fully decayed
            d0 = 2 * s0
            ev = dest[d0:d0 + 2 * nfft:2]
            ev += y[: ev.size]
            od = dest[d0 + 1:d0 + 2 * nfft:2]
            od += np.float32(0.5) * (yp[: od.size] + yp[1:od.size + 1])


def amp(x: np.ndarray, drive: float) -> np.ndarray:
    """Guitar amp, in place: pre-emphasis, asymmetric tanh clipping, DC block
    and a 4x12-ish cabinet roll-off."""
    sosfilt_inplace(signal.butter(1, 300, "highpass", fs=SR, output="sos"), x)
    x *= np.float32(drive)
    x += np.float32(0.1)
    np.tanh(x, out=x)
    x -= np.float32(np.tanh(0.1))
    cab = np.vstack([signal.butter(4, 4500, "lowpass", fs=SR, output="sos"),
                     signal.butter(1, 40, "highpass", fs=SR, output="sos")])
    sosfilt_inplace(cab, x)
    x *= np.float32(1 / max(1.0, drive**0.35))
    return x


def pump(x: np.ndarray, tempo: float, depth: float) -> None:
    """Duck on every beat (the four-on-the-floor sidechain 'pump'), in place."""
    beat = 60.0 / tempo * SR
    for s0 in range(0, x.size, CHUNK):
        seg = x[s0:s0 + CHUNK]
        t = (np.mod(np.arange(s0, s0 + seg.size, dtype=np.float64), beat) / SR).astype(
            np.float32)
        seg *= 1 - depth * np.exp(-t / 0.09) * np.clip(t / 0.005, 0, 1)


def pan_gains(pan: float) -> tuple[np.float32, np.float32]:
    """Constant-power pan law, pan in -1..1."""
    angle = (pan + 1) * np.pi / 4
    return np.float32(np.cos(angle)), np.float32(np.sin(angle))


def add_scaled(dest: np.ndarray, src: np.ndarray, gain: float, offset: int = 0) -> None:
    """dest[offset:] += src * gain, chunked so no full-length temporary is made."""
    g = np.float32(gain)
    n = min(src.size, dest.size - offset)
    for s0 in range(0, n, CHUNK):
        s1 = min(n, s0 + CHUNK)
        dest[offset + s0:offset + s1] += src[s0:s1] * g
