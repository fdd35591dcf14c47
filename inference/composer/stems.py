"""A Performance's stems as a zip of 48 kHz stereo FLAC files (soundfile).

Every stem is the whole piece long, sample-aligned with the mix, and the
stems add up to the mix before the master bus. They are written at one
common gain, the master's loudness gain capped so the loudest stem peaks at
-0.1 dBFS (24-bit FLAC cannot hold a peak over full scale); ``stems.json``
in the zip gives that gain, so sum(stems) / gain is the pre-master mix.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import soundfile as sf

from inference.composer.master import TARGET_LUFS, loudness

SR = 48_000
PEAK = 10 ** (-0.1 / 20)


def present(stems: dict[str, np.ndarray], order: tuple[str, ...]) -> list[str]:
    """The groups that make a sound, in ``order``."""
    return [g for g in order if g in stems and float(np.abs(stems[g]).max(initial=0.0)) > 0]


def common_gain(stems: dict[str, np.ndarray], names: list[str]) -> float:
    """The master's loudness gain for the stems' sum, capped by the loudest peak."""
    mix = sum(stems[g] for g in names)
    level = loudness([np.ascontiguousarray(mix[:, 0]), np.ascontiguousarray(mix[:, 1])])
    gain = 10 ** ((TARGET_LUFS - level) / 20) if level > -70 else 1.0
    peak = max(float(np.abs(stems[g]).max()) for g in names)
    return float(min(gain, PEAK / peak))


def to_zip(stems: dict[str, np.ndarray], order: tuple[str, ...], job_name: str,
           dest: io.IOBase) -> list[str]:
    """Writes the zip to ``dest``; returns the parts in it."""
    names = present(stems, order)
    gain = common_gain(stems, names) if names else 1.0
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as zf:  # FLAC is compressed already
        for g in names:
            buf = io.BytesIO()
            sf.write(buf, stems[g] * np.float32(gain), SR, format="FLAC", subtype="PCM_24")
            zf.writestr(f"{job_name}_{g}.flac", buf.getvalue())
        manifest = {"sample_rate": SR, "channels": 2, "format": "FLAC 24-bit",
                    "parts": names, "gain_db": round(20 * np.log10(gain), 6), "gain": gain,
                    "frames": int(next(iter(stems.values())).shape[0]) if stems else 0}
        zf.writestr("stems.json", json.dumps(manifest, indent=2))
    return names
