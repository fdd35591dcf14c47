"""The composer's exports: MIDI that matches what it played, stems that add up to the mix."""

from __future__ import annotations

import io
import json
import zipfile

import mido
import numpy as np
import pytest
import soundfile as sf

from inference.composer import ComposerEngine, engine, midi, stems
from inference.composer.engine import GROUPS
from inference.composer.performance import GM_DRUMS, GM_PROGRAMS
from tests.inference.composer.analysis import NFFT, SR, onset_times

LYRICS = "[verse]\nhello my friend we sing tonight\nunder the morning light\n[chorus]\noh oh oh"
# A sample of renders: sung and not, three meters, swing, several genres.
RENDERS = [
    dict(prompt="upbeat pop song with piano and rain", duration=30, seed=1, lyrics=LYRICS),
    dict(prompt="driving rock with distorted guitar", duration=30, seed=2,
         time_signature="3/4"),
    dict(prompt="swinging jazz trio", duration=30, seed=3),
    dict(prompt="four on the floor techno", duration=30, seed=4),
    dict(prompt="folk ballad", duration=30, seed=5, time_signature="6/8", lyrics=LYRICS),
]


@pytest.fixture(scope="module")
def composer():
    return ComposerEngine()


def _midi(composer, **kw):
    perf = composer.perform(**kw, stems=False)
    return perf, mido.MidiFile(file=io.BytesIO(midi.to_midi(perf)))


def _notes(track) -> list[tuple[float, int, int]]:
    """(onset in ticks, note, velocity) of every note_on in a track."""
    now, out = 0, []
    for msg in track:
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            out.append((now, msg.note, msg.velocity))
    return out


def test_conductor_track_says_what_was_asked(composer):
    kw = dict(prompt="sad piano ballad", duration=60, seed=9, bpm=96, key="D minor",
              time_signature="3/4")
    understood = composer.understand(**kw)
    _perf, mid = _midi(composer, **kw)
    assert mid.type == 1
    meta = {m.type: m for m in mid.tracks[0] if m.is_meta}
    assert mido.tempo2bpm(meta["set_tempo"].tempo) == pytest.approx(96, abs=1e-3)
    assert (meta["time_signature"].numerator, meta["time_signature"].denominator) == (3, 4)
    assert meta["key_signature"].key == "Dm"
    markers = [m.text for m in mid.tracks[0] if m.type == "marker"]
    assert markers == [s["name"] for s in understood["sections"] if s["start"] < 60]


@pytest.mark.parametrize("key, signature", [("F# major", "F#"), ("Bb minor", "Bbm"),
                                            ("C major", "C"), ("G# minor", "G#m")])
def test_key_signature_is_the_reported_key(composer, key, signature):
    understood = composer.understand(prompt="calm piano", duration=30, key=key)
    assert midi.key_signature(understood["key"], understood["mode"]) == signature


def test_modes_get_their_own_accidentals():
    assert midi.key_signature("D", "dorian") == "C"  # D dorian: no sharps or flats
    assert midi.key_signature("G", "mixolydian") == "C"


@pytest.mark.parametrize("kw", RENDERS, ids=lambda kw: kw["prompt"][:20])
def test_one_track_per_instrument_with_its_program(composer, kw):
    understood = composer.understand(**kw)
    perf, mid = _midi(composer, **kw)
    names = [t.name for t in mid.tracks[1:]]
    assert names == understood["instruments"]
    for track, played in zip(mid.tracks[1:], perf.tracks, strict=True):
        notes = _notes(track)
        assert len(notes) == len(played.notes)  # every note played, none invented
        channels = {m.channel for m in track if m.type in ("note_on", "program_change")}
        if track.name == "drums":
            assert channels == {9}
            assert {n for _t, n, _v in notes} <= set(GM_DRUMS.values())
        else:
            assert 9 not in channels and len(channels) <= 1
            programs = [m.program for m in track if m.type == "program_change"]
            assert programs == [GM_PROGRAMS[track.name]]
        if notes:
            velocities = {v for _t, _n, v in notes}
            assert min(velocities) >= 1 and max(velocities) <= 127 and len(velocities) > 1


@pytest.mark.parametrize("kw", [RENDERS[0], RENDERS[4]], ids=["pop", "folk 6/8"])
def test_lyric_events_are_the_syllables_at_their_notes(composer, kw):
    understood = composer.understand(**kw)
    _perf, mid = _midi(composer, **kw)
    voice = next(t for t in mid.tracks if t.name == "voice")
    now, lyrics, onsets = 0, [], set()
    for msg in voice:
        now += msg.time
        if msg.type == "lyrics":
            lyrics.append((now, msg.text))
        elif msg.type == "note_on":
            onsets.add(now)
    assert len(lyrics) == understood["syllables"] > 0
    assert all(at in onsets for at, _text in lyrics)
    assert "".join(t for _at, t in lyrics[:2]) == "hel-lo"
    assert sum(1 for t in mid.tracks for m in t if m.type == "lyrics") == len(lyrics)


def _match(expected: np.ndarray, found: np.ndarray, within: float) -> float:
    """Share of ``expected`` times with a ``found`` time within ``within`` s."""
    if expected.size == 0:
        return 1.0
    idx = np.clip(np.searchsorted(found, expected), 1, max(1, found.size - 1))
    near = np.minimum(np.abs(found[idx - 1] - expected), np.abs(found[idx] - expected))
    return float(np.mean(near <= within))


def _clusters(times: np.ndarray, gap: float = 0.07) -> np.ndarray:
    """Onsets closer than ``gap`` are heard as one (a chord, a strum, kick + hat)."""
    times = np.sort(times)
    keep = np.concatenate([[True], np.diff(times) > gap]) if times.size else times
    return times[keep.astype(bool)]


# Sung consonants lead into the beat (voice.render): a fricative's hiss starts
# this long before its note, whose MIDI onset is where the vowel starts.
CONSONANT_LEAD = 0.03
LOUD_DRUMS = {36, 38, 39, 41}  # kick, snare, clap, taiko: never masked by the rest


@pytest.mark.parametrize("kw", RENDERS, ids=lambda kw: kw["prompt"][:20])
def test_midi_onsets_agree_with_the_audio(composer, kw):
    """Onsets detected in each stem (spectral flux: the tests' own analysis)
    against the MIDI file's note-ons of the tracks in that stem, in seconds."""
    perf = composer.perform(**kw)
    mid = mido.MidiFile(file=io.BytesIO(midi.to_midi(perf)))
    per_tick = 60.0 / (perf.tempo * mid.ticks_per_beat)
    notes: dict[str, list] = {}
    for track, played in zip(mid.tracks[1:], perf.tracks, strict=True):
        notes.setdefault(played.group, []).extend(
            (t * per_tick, n) for t, n, _v in _notes(track))
    assert set(notes) <= set(GROUPS)
    for group, found in notes.items():
        if not found:
            continue
        onsets = _clusters(np.array([t for t, _n in found]))
        # onset_times stamps a frame by its start; the rise it finds sits mid-window
        heard = onset_times(perf.stems[group].astype(np.float64).mean(axis=1)) + NFFT / 2 / SR
        if group == "voice":
            onsets = np.sort(np.concatenate([onsets, onsets - CONSONANT_LEAD]))
        # what is heard was played: every onset in the stem is a note in the file
        assert _match(heard, onsets, 0.02) >= 0.9, (group, heard[:8], onsets[:8])
        if group == "drums":  # and what was played is heard
            loud = _clusters(np.array([t for t, n in found if n in LOUD_DRUMS]))
            assert _match(loud, heard, 0.02) >= 0.9


@pytest.mark.parametrize("kw", [RENDERS[0], RENDERS[2]], ids=["pop", "jazz"])
def test_stems_add_up_to_the_mix_before_the_master(composer, kw, monkeypatch):
    perf = composer.perform(**kw)
    buf = io.BytesIO()
    parts = stems.to_zip(perf.stems, GROUPS, "music_t", buf)
    with zipfile.ZipFile(buf) as zf:
        manifest = json.loads(zf.read("stems.json"))
        decoded = {p: sf.read(io.BytesIO(zf.read(f"music_t_{p}.flac")), dtype="float64")
                   for p in parts}
    assert manifest["parts"] == parts == [g for g in GROUPS if g in parts]
    assert len(parts) >= 4
    frames = kw["duration"] * 48000
    for data, rate in decoded.values():
        assert rate == 48000 and data.shape == (frames, 2)
        assert np.abs(data).max() <= 1.0
    total = sum(data for data, _rate in decoded.values()) / manifest["gain"]

    monkeypatch.setattr(engine, "master", lambda left, right: None)  # the mix, unmastered
    premaster = composer.generate(**kw).astype(np.float64)
    error = 10 * np.log10(np.sum((total - premaster) ** 2) / np.sum(premaster**2))
    assert error < -60, error


def test_silent_groups_are_left_out(composer):
    # A sung piece whose lead gives way to the voice: no melody stem, no empty file.
    perf = composer.perform(**RENDERS[0])
    assert not np.any(perf.stems.get("melody", np.zeros(1)))
    assert "melody" not in stems.present(perf.stems, GROUPS)


def test_perform_leaves_generate_untouched(composer):
    before = composer.generate(**RENDERS[1]).tobytes()
    composer.perform(**RENDERS[1])
    assert composer.generate(**RENDERS[1]).tobytes() == before
