"""A Performance as a Standard MIDI File (type 1), written with mido.

Track 0 is the conductor: tempo, time signature, key signature and a marker
per section. Then one track per instrument with its General MIDI program
(drums on channel 10), note velocities as played and, on the voice track, a
lyric event per sung syllable at its note.
"""

from __future__ import annotations

import io

import mido

from inference.composer.performance import Performance, Track
from inference.composer.theory import NOTE_NAMES, pitch_class

PPQ = 960  # ticks per quarter note: about 0.5 ms at 120 bpm
DRUM_CHANNEL = 9  # channel 10 as musicians count
# Tonic offset to the major key with the same accidentals, per mode.
_RELATIVE_MAJOR = {"major": 0, "minor": 3, "dorian": 10, "mixolydian": 5}
_FLAT_NAMES = {1: "Db", 3: "Eb", 6: "Gb", 8: "Ab", 10: "Bb"}


def key_signature(tonic: str, mode: str) -> str:
    """mido's key name for the piece: the key itself for major and minor; for
    dorian and mixolydian (which SMF cannot name) the major key with the same
    accidentals."""
    minor = mode == "minor"
    if mode in ("major", "minor"):
        name = f"{tonic}m" if minor else tonic
        if _valid(name):
            return name
    pc = pitch_class(tonic)
    major = (pc + _RELATIVE_MAJOR.get(mode, 0)) % 12
    if minor:
        pc = (major + 9) % 12
        for name in (NOTE_NAMES[pc] + "m", _FLAT_NAMES.get(pc, NOTE_NAMES[pc]) + "m"):
            if _valid(name):
                return name
    for name in (NOTE_NAMES[major], _FLAT_NAMES.get(major, NOTE_NAMES[major])):
        if _valid(name):
            return name
    return "C"


def _valid(name: str) -> bool:
    try:
        mido.MetaMessage("key_signature", key=name)
    except (ValueError, KeyError):
        return False
    return True


def to_midi(perf: Performance) -> bytes:
    mid = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    per_second = perf.tempo / 60.0 * PPQ

    def tick(seconds: float) -> int:
        return max(0, int(round(seconds * per_second)))

    num, den = (int(x) for x in perf.time_signature.split("/"))
    conductor = [
        (0, mido.MetaMessage("track_name", name="conductor")),
        (0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(perf.tempo))),
        (0, mido.MetaMessage("time_signature", numerator=num, denominator=den)),
        (0, mido.MetaMessage("key_signature", key=key_signature(perf.key, perf.mode))),
    ]
    conductor += [(tick(start), mido.MetaMessage("marker", text=name))
                  for name, start in perf.sections]
    end = tick(perf.duration)
    mid.tracks.append(_track(conductor, end))
    channels = iter([c for c in range(16) if c != DRUM_CHANNEL] * 2)
    for track in perf.tracks:
        channel = DRUM_CHANNEL if track.drums else next(channels)
        mid.tracks.append(_track(_events(track, channel, tick), end))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _events(track: Track, channel: int, tick) -> list:
    events = [(0, mido.MetaMessage("track_name", name=track.instrument))]
    if not track.drums:
        events.append((0, mido.Message("program_change", channel=channel,
                                       program=track.program)))
    for i, (onset, length, pitch, vel) in enumerate(track.notes):
        start = tick(onset)
        stop = max(start + 1, tick(onset + length))
        velocity = max(1, min(127, int(round(vel * 127))))
        if i < len(track.lyrics):
            events.append((start, mido.MetaMessage("lyrics", text=track.lyrics[i])))
        events.append((start, mido.Message("note_on", channel=channel, note=pitch,
                                           velocity=velocity)))
        events.append((stop, mido.Message("note_off", channel=channel, note=pitch,
                                          velocity=0)))
    return events


def _track(events: list, end: int) -> mido.MidiTrack:
    # note-offs before note-ons at the same tick, so a repeated pitch restarts cleanly
    order = {"note_off": 0}
    events = sorted(events, key=lambda e: (e[0], order.get(e[1].type, 1)))
    track = mido.MidiTrack()
    now = 0
    for at, msg in events:
        track.append(msg.copy(time=at - now))
        now = at
    track.append(mido.MetaMessage("end_of_track", time=max(0, end - now)))
    return track
