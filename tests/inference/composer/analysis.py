"""Audio measurements for the composer tests, written independently of the engine.

Onsets: spectral flux on a log-magnitude STFT with an adaptive threshold.
Tempo: autocorrelation of the onset-strength envelope, refined on the
four-beat lag. Loudness: ITU-R BS.1770 gated integrated loudness.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

SR = 48_000
HOP = 256
NFFT = 2048
LAG = 2  # frames between compared spectra


def mono(audio: np.ndarray) -> np.ndarray:
    return audio.astype(np.float64).mean(axis=1)


def onset_envelope(x: np.ndarray) -> np.ndarray:
    """Mean rise in dB over ~40 log-spaced bands, per HOP samples.

    Working in dB makes the threshold absolute (a drum hit lifts most bands by
    many dB), and summing bins into bands averages away the beating inside
    sustained chords, which would otherwise read as a stream of onsets."""
    n = 1 + (x.size - NFFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n, NFFT), strides=(x.strides[0] * HOP, x.strides[0]))
    power = np.abs(np.fft.rfft(frames * np.hanning(NFFT), axis=1)) ** 2
    edges = np.unique(np.geomspace(4, power.shape[1] - 1, 40).astype(int))
    db = 10 * np.log10(np.add.reduceat(power, edges, axis=1) + 1e-10 * NFFT)
    db = np.maximum(db, db.max() - 80)
    flux = np.maximum(db[LAG:] - db[:-LAG], 0).mean(axis=1)
    return np.concatenate([np.zeros(LAG), flux])


def onset_times(x: np.ndarray, rise_db: float = 2.5) -> np.ndarray:
    """Onset times in seconds: rises of ``rise_db`` over the local median."""
    env = onset_envelope(x)
    local = signal.medfilt(env, int(0.25 * SR / HOP) | 1)
    peaks, _ = signal.find_peaks(env, height=local + rise_db, distance=int(0.06 * SR / HOP))
    return peaks * HOP / SR


def onset_density(audio: np.ndarray) -> float:
    """Onsets per second."""
    return len(onset_times(mono(audio))) / (audio.shape[0] / SR)


def estimate_tempo(audio: np.ndarray, lo: float = 70.0, hi: float = 180.0) -> float:
    env = onset_envelope(mono(audio))
    env = env - env.mean()
    n = env.size
    spec = np.fft.rfft(env, 2 * n)
    ac = np.fft.irfft(np.abs(spec) ** 2)[:n]
    fps = SR / HOP
    lags = np.arange(n)
    ok = (lags >= 60 * fps / hi) & (lags <= 60 * fps / lo)
    best = int(lags[ok][np.argmax(ac[ok])])
    # refine on the 4-beat lag where one hop is a 4x smaller relative error
    k = 4
    window = np.arange(int(best * k * 0.97), min(n - 1, int(best * k * 1.03) + 1))
    peak = int(window[np.argmax(ac[window])])
    if 0 < peak < n - 1:
        a, b, c = ac[peak - 1], ac[peak], ac[peak + 1]
        denom = a - 2 * b + c
        frac = 0.5 * (a - c) / denom if denom != 0 else 0.0
    else:
        frac = 0.0
    return 60.0 * fps * k / (peak + frac)


def spectral_centroid(audio: np.ndarray) -> float:
    f, p = signal.welch(mono(audio), SR, nperseg=4096)
    mag = np.sqrt(p)
    return float((f * mag).sum() / mag.sum())


def band_fraction(audio: np.ndarray, lo_hz: float) -> float:
    """Share of the signal's energy above ``lo_hz``."""
    f, p = signal.welch(mono(audio), SR, nperseg=4096)
    return float(p[f >= lo_hz].sum() / p.sum())


_K1 = ([1.53512485958697, -2.69169618940638, 1.19839281085285],
       [1.0, -1.69065929318241, 0.73248077421585])
_K2 = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def integrated_lufs(audio: np.ndarray) -> float:
    x = audio.astype(np.float64)
    for b, a in (_K1, _K2):
        x = signal.lfilter(b, a, x, axis=0)
    block, step = int(0.4 * SR), int(0.1 * SR)
    starts = range(0, x.shape[0] - block + 1, step)
    z = np.array([(x[s:s + block] ** 2).mean(axis=0).sum() for s in starts])
    loud = -0.691 + 10 * np.log10(np.maximum(z, 1e-12))
    z1 = z[loud > -70]
    rel = -0.691 + 10 * np.log10(z1.mean()) - 10
    return float(-0.691 + 10 * np.log10(z[(loud > -70) & (loud > rel)].mean()))
