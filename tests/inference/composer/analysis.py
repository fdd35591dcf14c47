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


def onset_tempo(audio: np.ndarray, lo: float, hi: float) -> float:
    """Tempo (bpm) whose beat multiples line up best with the onset envelope's
    autocorrelation. Summing eight multiples makes it precise to a small
    fraction of a frame; keep ``hi / lo`` under 1.5 so no double, half or
    three-halves tempo competes."""
    env = onset_envelope(mono(audio))
    env = env - env.mean()
    n = env.size
    ac = np.fft.irfft(np.abs(np.fft.rfft(env, 2 * n)) ** 2)[:n]
    fps = SR / HOP
    candidates = np.arange(lo, hi, 0.02)
    lags = 60.0 * fps / candidates[:, None] * np.arange(1, 9)[None, :]
    ok = lags < n - 1
    score = np.where(ok, np.interp(lags, np.arange(n), ac), 0.0).sum(axis=1)
    return float(candidates[np.argmax(score)])


# Krumhansl-Kessler probe-tone profiles, tonic first.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


# Harmonic summation: a note's salience adds its first five partials, so a
# fifth (the root's third partial) no longer outweighs the root.
PARTIALS = ((0, 1.0), (12, 0.6), (19, 0.45), (24, 0.35), (28, 0.3))


def chroma(audio: np.ndarray) -> np.ndarray:
    """Salience per pitch class (C = 0) of the notes from A1 to B6.

    The mean (sqrt-compressed) FFT magnitude at 24 kHz is read as the peak
    inside each semitone (a crude constant-Q: wide high semitones do not
    outweigh narrow low ones); each note sums its partials (PARTIALS)."""
    x = signal.decimate(mono(audio), 2, ftype="fir")
    sr, nfft = SR // 2, 16384
    n = 1 + (x.size - nfft) // (nfft // 2)
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n, nfft), strides=(x.strides[0] * nfft // 2, x.strides[0]))
    mag = np.sqrt(np.abs(np.fft.rfft(frames * np.hanning(nfft), axis=1))).mean(axis=0)
    midi = 12 * np.log2(np.maximum(np.fft.rfftfreq(nfft, 1 / sr), 1.0) / 440.0) + 69
    semitone = np.zeros(128)
    for note in range(33, 124):
        band = mag[np.abs(midi - note) < 0.5]
        semitone[note] = band.max() if band.size else 0.0
    out = np.zeros(12)
    for note in range(33, 96):
        out[note % 12] += sum(w * semitone[note + up] for up, w in PARTIALS)
    return out


def estimate_key(audio: np.ndarray) -> tuple[int, str]:
    """(tonic pitch class, 'major' | 'minor') whose rotated key profile
    correlates best with the chroma of the audio."""
    c = chroma(audio)
    best = max(((np.corrcoef(c, np.roll(profile, tonic))[0, 1], tonic, mode)
                for mode, profile in (("major", KK_MAJOR), ("minor", KK_MINOR))
                for tonic in range(12)))
    return best[1], best[2]


def accent_envelope(x: np.ndarray) -> np.ndarray:
    """Rise of the overall level (dB, 30 Hz - 16 kHz) per HOP: a dynamic accent.

    Unlike the band-wise flux a hi-hat and a full downbeat do not count the
    same here: the louder event raises the level more."""
    n = 1 + (x.size - NFFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        x, shape=(n, NFFT), strides=(x.strides[0] * HOP, x.strides[0]))
    power = np.abs(np.fft.rfft(frames * np.hanning(NFFT), axis=1)) ** 2
    f = np.fft.rfftfreq(NFFT, 1 / SR)
    db = 10 * np.log10(power[:, (f > 30) & (f < 16000)].sum(axis=1) + 1e-9)
    return np.concatenate([np.zeros(LAG), np.maximum(db[LAG:] - db[:-LAG], 0)])


def eighth_strengths(audio: np.ndarray, bpm: float) -> np.ndarray:
    """Onset strength at every eighth note of a piece whose first bar starts
    at 0 s (the largest accent value from 20 ms before to 30 ms after)."""
    env = accent_envelope(mono(audio))
    fps = SR / HOP
    # frame k is centred NFFT/2 samples after it starts: index by the centre
    lead = NFFT / 2 / SR
    times = np.arange(0, audio.shape[0] / SR - 0.1, 30.0 / bpm) - lead
    return np.array([env[max(0, int((t - 0.02) * fps)):max(1, int((t + 0.03) * fps) + 1)].max()
                     for t in times])


def accent_profile(audio: np.ndarray, bpm: float, eighths_per_bar: int) -> np.ndarray:
    """Mean onset strength at each eighth of the bar."""
    s = eighth_strengths(audio, bpm)
    bars = s.size // eighths_per_bar
    return s[: bars * eighths_per_bar].reshape(bars, eighths_per_bar).mean(axis=0)


def accent_periodicity(audio: np.ndarray, bpm: float, lags=(4, 6, 8)) -> dict[int, float]:
    """Normalised autocorrelation of the eighth-note onset strengths at each
    lag (in eighths): the bar length is where the accents repeat."""
    s = eighth_strengths(audio, bpm)
    s = s - s.mean()
    return {lag: float(np.dot(s[:-lag], s[lag:]) / np.dot(s, s)) for lag in lags}


def pitch_at(x: np.ndarray, t: float, length: float = 0.08) -> float:
    """MIDI pitch (fractional) of a mono signal from ``t`` seconds, by the
    first strong autocorrelation peak between 90 and 900 Hz."""
    seg = x[int(t * SR):int((t + length) * SR)].astype(np.float64)
    seg = seg - seg.mean()
    ac = np.correlate(seg, seg, "full")[seg.size - 1:]
    lo, hi = int(SR / 900), int(SR / 90)
    window = ac[lo:hi]
    peak = lo + int(np.argmax(window >= 0.85 * window.max()))
    while peak + 1 < hi and ac[peak + 1] > ac[peak]:
        peak += 1
    a, b, c = ac[peak - 1], ac[peak], ac[peak + 1]
    frac = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c else 0.0
    return float(69 + 12 * np.log2(SR / (peak + frac) / 440.0))
