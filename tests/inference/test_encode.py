"""inference.encode: each compressed format from a WAV, and the waveform overview."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from inference.encode import encode_file, peaks
from inference.wav import write_wav


@pytest.fixture(scope="module")
def wav(tmp_path_factory):
    t = np.arange(3 * 48_000) / 48_000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path_factory.mktemp("enc") / "in.wav"
    write_wav(path, np.stack([tone, tone * 0.5], axis=1).astype(np.float32))
    return path


@pytest.mark.parametrize(("fmt", "container"), [("flac", "FLAC"), ("mp3", "MP3"),
                                                ("opus", "OGG")])
def test_each_format_decodes_back_to_the_piece(wav, tmp_path, fmt, container):
    dest = tmp_path / f"out.{fmt}"
    encode_file(wav, dest, fmt)
    info = sf.info(str(dest))
    assert (info.format, info.samplerate, info.channels) == (container, 48_000, 2)
    assert abs(info.frames - 3 * 48_000) <= 48_000 * 0.05
    decoded, _ = sf.read(str(dest), dtype="float32")
    # Loudness survives (lossy formats are not sample-exact).
    assert decoded[:, 0].std() == pytest.approx(0.5 / np.sqrt(2), rel=0.05)
    if fmt == "flac":  # lossless: the very samples of the WAV
        assert np.array_equal(sf.read(str(dest), dtype="int16")[0],
                              sf.read(str(wav), dtype="int16")[0])


def test_unknown_format_is_refused(wav, tmp_path):
    with pytest.raises(ValueError, match="`fmt` must be one of flac, mp3, opus"):
        encode_file(wav, tmp_path / "x.aac", "aac")


def test_peaks_are_the_loudest_sample_of_each_slice():
    audio = np.zeros((3000, 2), dtype=np.float32)
    audio[5, 1] = -0.5  # slice 0, right channel, negative
    audio[2995, 0] = 1.2  # the last slice, clipped to 100
    audio[1500:1510] = 0.333
    levels = peaks(audio)
    assert len(levels) == 300
    assert levels[0] == 50 and levels[-1] == 100 and levels[150] == 33
    assert sum(levels) == 50 + 100 + 33


def test_peaks_of_a_very_short_piece():
    assert peaks(np.full((10, 2), 0.25, dtype=np.float32)) == [25] * 300
    with pytest.raises(ValueError):
        peaks(np.zeros((0, 2), dtype=np.float32))
