"""ComposerEngine: prompt -> plan -> notes -> stereo mix -> master."""

from __future__ import annotations

import numpy as np

from inference.base import SAMPLE_RATE, check_inputs, resolve_seed
from inference.composer import (
    ambience,
    beats,
    drumkit,
    effects,
    form,
    fx,
    mixing,
    parts,
    performance,
    singer,
    voice,
)
from inference.composer.instruments import VOICES
from inference.composer.master import CEILING_DBFS, TARGET_LUFS, master
from inference.composer.performance import Performance
from inference.composer.plan import ROLE_SECTIONS, Plan, make_plan
from inference.composer.prompt import stable_hash
from inference.composer.render import _release_ramp, render_hits, render_notes

SR = SAMPLE_RATE
EXPORTS = ("midi", "stems")  # what perform() can give beside the mix
# Timing spread (seconds, s.d.) a player of the genre would have.
JITTER = {"electronic": 0.001, "rock": 0.005, "jazz": 0.008, "classical": 0.01,
          "ambient": 0.012, "cinematic": 0.008}
# Within one instrument (piano playing chords and melody) the melody leads.
# Which stem each role's instrument is on (an instrument with several roles: see group_of).
ROLE_GROUP = {"melody": "melody", "answer": "melody", "sparkle": "melody", "bass": "bass",
              "chords": "harmony", "layer": "harmony", "broken": "harmony", "arp": "harmony",
              "drone": "harmony"}
GROUPS = ("drums", "bass", "harmony", "melody", "voice", "ambience")
ROLE_GAIN = {"chords": 0.7, "melody": 1.0, "bass": 1.0, "answer": 1.0, "layer": 1.0,
             "broken": 1.0, "sparkle": 1.0, "arp": 1.0, "drone": 0.6}


class ComposerEngine:
    name = "composer"
    sample_rate = SR

    def setup(self) -> None:
        # One tiny render warms regex, filter-design and FFT caches so the first
        # real job is not the slow one.
        self.generate(prompt="warm up", duration=1, seed=0)

    def describe(self) -> dict:
        return {"engine": self.name, "model": "composer-2", "sample_rate": SR,
                "loudness_lufs": TARGET_LUFS, "ceiling_dbfs": CEILING_DBFS,
                "exports": list(EXPORTS)}

    def understand(self, *, prompt, duration, genre=None, seed=None, lyrics=None,
                   instrumental=None, vocal_language=None, bpm=None, key=None,
                   time_signature=None) -> dict:
        song = {"lyrics": lyrics, "instrumental": instrumental, "vocal_language": vocal_language,
                "bpm": bpm, "key": key, "time_signature": time_signature}
        check_inputs(prompt, duration, genre, seed, **song)
        out = make_plan(prompt, duration, genre, **song).summary()
        out["loudness_lufs"] = TARGET_LUFS
        if seed is not None:
            out["seed"] = seed
        return out

    def generate(self, *, prompt, duration, genre=None, seed=None, progress=None, lyrics=None,
                 instrumental=None, vocal_language=None, bpm=None, key=None,
                 time_signature=None) -> np.ndarray:
        """The song fields are as inference.contract.check_inputs takes them;
        None leaves each to the prompt."""
        song = {"lyrics": lyrics, "instrumental": instrumental, "vocal_language": vocal_language,
                "bpm": bpm, "key": key, "time_signature": time_signature}
        check_inputs(prompt, duration, genre, seed, **song)
        seed = resolve_seed(seed)
        plan = make_plan(prompt, duration, genre, **song)
        return _render(plan, seed, _piece_key(prompt, genre), progress or (lambda _f: None))

    def perform(self, *, prompt, duration, genre=None, seed=0, stems=True,
                **song) -> Performance:
        """What ``generate`` with the same arguments plays: every note as
        performed and, with ``stems``, the pre-master parts by group (their
        sum is the mix before the master bus)."""
        check_inputs(prompt, duration, genre, seed, **song)
        plan = make_plan(prompt, duration, genre, **song)
        played: dict = {}
        parts = _render(plan, seed, _piece_key(prompt, genre), lambda _f: None, split=True,
                        played=played)
        r = plan.reading
        bar = plan.meter.beats * 60.0 / r.tempo
        sections = [(s.kind, s.start_bar * bar) for s in plan.sections
                    if s.start_bar * bar < duration]
        return Performance(r.tempo, plan.meter.name, r.key, r.mode, sections,
                           performance.tracks(plan.instruments, played), duration,
                           parts if stems else None)

    def vocal_stem(self, *, prompt, duration, genre=None, seed=0,
                   **song) -> tuple[list[singer.SungNote], np.ndarray]:
        """The sung notes and the dry, unmixed voice of the piece ``generate``
        renders with the same arguments (empty when nothing is sung)."""
        check_inputs(prompt, duration, genre, seed, **song)
        plan = make_plan(prompt, duration, genre, **song)
        key = _piece_key(prompt, genre)
        return _vocals(plan, _bars(plan, seed, key), lambda name: _rng(seed, key, name))

    def edit(self, request, progress=None):
        """Extend, repaint or cover one of this engine's pieces (inference/composer/edit.py)."""
        from inference.composer.edit import edit

        return edit(request, progress or (lambda _f: None))


def _piece_key(prompt: str, genre: str | None) -> int:
    return stable_hash(" ".join(prompt.lower().split()), (genre or "").strip().lower())


def _rng(seed: int, key: int, name: str) -> np.random.Generator:
    """Independent stream per component so adding a part never shifts another."""
    return np.random.default_rng([seed, key, stable_hash(name) & 0xFFFFFFFF])


def _notes_for(plan: Plan, part, bars: list[form.Bar], rng) -> list:
    r, st = plan.reading, plan.style
    inst = part.instrument
    if part.role == "chords":
        return parts.comp(bars, part.style, inst, rng)
    if part.role == "bass":
        return parts.bass(bars, part.style, rng)
    if part.role == "drone":
        return [(s, d, p + 12, v * 0.7) for s, d, p, v in parts.bass(bars, "drone", rng)]
    answer = any(p.role == "answer" for p in plan.parts)
    if part.role == "melody":
        active = ("verse", "bridge") if answer else ("verse", "chorus", "bridge")
        active = (*active, "pre-chorus", "instrumental")  # the lead takes the break
        if r.genre == "ambient":  # no song form to wait for: the chimes start at once
            active = (*active, "intro")
        return parts.melody(bars, r.genre, r.mode, r.tonic, inst, st.melody_grid,
                            st.melody_density, rng, active, skip_sung=plan.vocals)
    if part.role == "answer":
        return parts.melody(bars, r.genre, r.mode, r.tonic, inst, st.melody_grid,
                            st.melody_density, rng, ROLE_SECTIONS["answer"],
                            skip_sung=plan.vocals)
    if part.role == "sparkle":
        return parts.melody(bars, r.genre, r.mode, r.tonic, "bells", 1.0, 0.3, rng,
                            ROLE_SECTIONS["sparkle"])
    busy = [b for b in bars if b.section in ("verse", "chorus", "bridge")] or bars
    if part.role == "arp":
        return parts.arpeggio(busy, rng)
    if part.role == "layer":
        return parts.comp([b for b in busy if b.lift >= 0.7] or busy, part.style, inst, rng)
    return parts.comp(busy, "arpeggio", inst, rng)  # broken


def _bars(plan: Plan, seed: int, key: int) -> list[form.Bar]:
    r = plan.reading
    return form.bars(plan.style, r.mode, r.tonic, list(plan.sections), _rng(seed, key, "form"),
                     plan.meter, plan.sources.get("key") == "request")


def _vocals(plan: Plan, bars: list[form.Bar], stream, played: list | None = None):
    if not plan.vocals:
        return [], np.zeros(plan.duration * SR, np.float32)
    r = plan.reading
    notes = singer.sing(plan.sections, bars, r.mode, r.tonic, plan.language, stream)
    return notes, voice.render(notes, plan.duration * SR, r.tempo, plan.swing,
                               stream("voice"), played)


class _Buses:
    """Where each instrument group's sound goes: one shared mix (``generate``)
    or a stereo buffer and reverb send per group (the stems)."""

    def __init__(self, total: int, split: bool) -> None:
        self.total, self.split = total, split
        self.buses: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if not split:
            self.get("mix")

    def get(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        name = group if self.split else "mix"
        if name not in self.buses:
            self.buses[name] = (np.zeros((self.total, 2), np.float32),
                                np.zeros(self.total // 2, np.float32))
        return self.buses[name]


def _render(plan: Plan, seed: int, key: int, progress, split: bool = False,
            played: dict | None = None, *, stream=None, bars=None, notes=None,
            fade_out: float | None = None):
    """The mastered mix, or with ``split`` the pre-master stems by group (their
    sum is the mix before ``master``); ``played`` (a dict) gets what was played.
    Edits (inference/composer/edit.py) pass which random stream each name
    draws from, the bars (harmony), some parts' notes and the ending's length."""
    r, st = plan.reading, plan.style
    total = plan.duration * SR
    stream = stream or (lambda name: _rng(seed, key, name))
    bars = _bars(plan, seed, key) if bars is None else bars
    notes_of = notes or {}
    swing = plan.swing
    jitter = JITTER.get(r.genre, 0.007)
    # The mix is built in place in the output array (channels are strided views),
    # so the only other long buffers are one part at a time and the half-rate send.
    buses = _Buses(total, split)
    steps = len(plan.parts) + 3 + plan.vocals
    by_inst: dict[str, list] = {}
    roles: dict[str, list[str]] = {}
    for i, part in enumerate(plan.parts):
        notes = notes_of[i] if i in notes_of else _notes_for(
            plan, part, bars, stream(f"notes:{i}:{part.role}"))
        gain = ROLE_GAIN[part.role]
        by_inst.setdefault(part.instrument, []).extend(
            (s, d, p, v * gain) for s, d, p, v in notes)
        roles.setdefault(part.instrument, []).append(part.role)
    for i, (inst, notes) in enumerate(by_inst.items()):
        timbre = VOICES[inst]
        heard = None if played is None else played.setdefault("notes", {}).setdefault(inst, [])
        buf = render_notes(inst, notes, total, r.tempo, swing, jitter,
                           stream(f"voice:{inst}"), heard)
        if timbre.drive:
            effects.amp(buf, timbre.drive)
        if r.genre == "electronic" and inst != "synth lead":
            effects.pump(buf, r.tempo / plan.meter.pulse, 0.45)
        group = group_of(roles[inst])
        if inst in fx.CHORUSED:
            fx.chorus(buf)
        if group == "melody" and r.genre in fx.ECHO_GENRES:
            fx.echo(buf, r.tempo)
        gain = mixing.gain_for(mixing.active_level_db(buf),
                               mixing.target_db(r.genre, roles[inst]))
        if played is not None:
            played.setdefault("groups", {})[inst] = group
        out, send = buses.get(group)
        left, right = out[:, 0], out[:, 1]
        gl, gr = effects.pan_gains(timbre.pan)
        effects.add_scaled(left, buf, gain * gl)
        effects.add_scaled(right, buf, gain * gr)
        if inst in ("distorted guitar", "pad", "strings"):  # double-tracked width
            effects.add_scaled(right if timbre.pan <= 0 else left, buf, 0.6 * gain,
                               int(0.014 * SR))
        effects.send_add(send, buf, timbre.send * gain)
        del buf
        progress(0.8 * (i + 1) / steps)
    if plan.vocals:
        sung = None if played is None else played.setdefault("voice", [])
        notes, buf = _vocals(plan, bars, stream, sung)
        if played is not None:
            played["sung"] = notes
            played["syllables"] = performance.sung_texts(plan.sections, len(bars),
                                                         plan.language)
        gain = mixing.gain_for(mixing.active_level_db(buf), mixing.VOICE_TARGET)
        out, send = buses.get("voice")
        gl, gr = effects.pan_gains(0.0)
        effects.add_scaled(out[:, 0], buf, gain * gl)
        effects.add_scaled(out[:, 1], buf, gain * gr)
        effects.send_add(send, buf, 0.3 * gain)
        del buf
        progress(0.8 * (len(by_inst) + 1) / steps)
    if plan.drums:
        kit = drumkit.kit(plan.drums, stream("kit"), r.tempo)
        hits = beats.drums(bars, plan.drums, r.energy, stream("groove"))
        g = mixing.gain_for(mixing.drum_level_db(hits, kit, r.tempo),
                            mixing.DRUM_TARGET[plan.drums])
        out, send = buses.get("drums")
        struck = None if played is None else played.setdefault("drums", [])
        render_hits([(b, name, v * g) for b, name, v in hits], kit, r.tempo, swing,
                    jitter * 0.6, stream("drum-timing"), out[:, 0], out[:, 1], send,
                    0.08 if plan.drums != "cinematic" else 0.3, struck)
        if struck:  # velocities as the pattern played them, before the mix gain
            played["drums"] = [(t, name, v / g) for t, name, v in struck]
    progress(0.85)
    decay, wet = st.reverb
    ir = effects.reverb_ir(decay, stream("room"))
    for name, (out, send) in list(buses.buses.items()):
        effects.convolve_reverb(send, ir, out[:, 0], out[:, 1], wet)
        buses.buses[name] = (out, send[:0])  # the send is spent: let it go
    del send, ir
    progress(0.92)
    if r.ambience:
        outs = [out for out, _send in buses.buses.values()]
        mixed = outs[0] if len(outs) == 1 else sum(outs)
        left, right = mixed[:, 0], mixed[:, 1]
        level = float(np.sqrt((np.dot(left, left) + np.dot(right, right)) / (2 * total)))
        del mixed, left, right
        bed, _ = buses.get("ambience")
        ambience.add_bed(r.ambience, max(level, 1e-3), stream("ambience"),
                         bed[:, 0], bed[:, 1])
    for out, _send in buses.buses.values():
        _fades(out[:, 0], out[:, 1], plan.duration, fade_out)
    progress(1.0)
    if split:
        return {name: out for name, (out, _send) in buses.buses.items()}
    out = buses.buses["mix"][0]
    master(out[:, 0], out[:, 1])
    return out


def group_of(roles: list[str]) -> str:
    """The stem an instrument is on: that of its most exposed role."""
    return ROLE_GROUP[min(roles, key=mixing.ROLE_RANK.index)]


def _fades(left: np.ndarray, right: np.ndarray, duration: int,
           fade_out: float | None = None) -> None:
    n_in = int(0.01 * SR)
    ramp = np.linspace(0, 1, n_in, dtype=np.float32)
    left[:n_in] *= ramp
    right[:n_in] *= ramp
    n_out = int((min(6.0, max(0.05, 0.12 * duration)) if fade_out is None else fade_out) * SR)
    fade = _release_ramp(n_out)
    left[-n_out:] *= fade
    right[-n_out:] *= fade
