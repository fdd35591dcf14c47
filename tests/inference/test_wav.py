"""16-bit PCM WAV writing: header, exact length, clipping and rounding."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from inference.wav import write_wav


def test_header_length_and_samples(tmp_path):
    audio = np.zeros((48_000 * 6 + 7, 2), dtype=np.float32)
    audio[0] = [0.5, -0.5]
    audio[1] = [2.0, -2.0]  # clipped, not wrapped
    path = tmp_path / "a.wav"
    write_wav(path, audio)
    with wave.open(str(path)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 48_000)
        assert w.getnframes() == len(audio)
        first = np.frombuffer(w.readframes(2), dtype="<i2").reshape(2, 2)
    assert first.tolist() == [[16384, -16384], [32767, -32767]]
    assert path.stat().st_size == 44 + len(audio) * 4


def test_refuses_mono(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        write_wav(tmp_path / "m.wav", np.zeros((10, 1), dtype=np.float32))


def test_writes_to_an_open_file_the_same_bytes_as_to_a_path(tmp_path):
    import io

    from inference.wav import wav_size

    audio = np.random.default_rng(1).uniform(-1.2, 1.2, (48_000 * 5 + 3, 2)).astype(np.float32)
    write_wav(tmp_path / "a.wav", audio)
    buffer = io.BytesIO()
    write_wav(buffer, audio)
    assert not buffer.closed
    assert buffer.getvalue() == (tmp_path / "a.wav").read_bytes()
    assert len(buffer.getvalue()) == wav_size(len(audio))
