"""Genre profiles: the idioms each style brings when the prompt doesn't say.

Progressions are roman numerals (see ``theory.parse_roman``); upper case is a
major triad, lower case minor, ``7`` a seventh of the matching colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Style:
    name: str
    tempo: float
    tempo_range: tuple[float, float]
    mode: str  # mode used when no mood word decides
    keys: tuple[str, ...]
    chords: str  # default chord instrument
    melody: str | None
    bass: str | None
    drums: str | None  # drum pattern family, None = no kit by default
    bass_style: str
    comp_style: str
    melody_grid: float  # beats per melodic step
    melody_density: float  # chance a grid slot starts a note
    swing: float  # 0 straight .. 1 full triplet swing
    reverb: tuple[float, float]  # (decay seconds, wet send)
    bars_per_chord: int
    energy: float
    progressions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    extras: tuple[str, ...] = ()  # layered in when the piece is energetic or epic
    arp: bool = False


STYLES: dict[str, Style] = {
    "ambient": Style(
        "ambient", 70, (50, 90), "major", ("D", "E", "F", "A", "C"),
        "pad", "bells", None, None, "drone", "pad", 1.0, 0.35, 0.0, (5.0, 0.65), 2, 0.2,
        {"major": ("Imaj7 IVmaj7", "I vi7 IVmaj7 I", "Iadd9 V vi7 IVmaj7"),
         "minor": ("i7 bVImaj7", "i7 iv7 bVImaj7 bIIImaj7", "iadd9 bVII bVImaj7 iv7")},
        extras=("strings",),
    ),
    "classical": Style(
        "classical", 84, (60, 120), "minor", ("C", "G", "D", "A", "F", "Eb"),
        "piano", "piano", None, None, "none", "alberti", 0.5, 0.7, 0.0, (2.2, 0.3), 1, 0.35,
        {"major": ("I IV V7 I", "I vi ii V7", "I V vi iii IV I ii V7"),
         "minor": ("i iv V7 i", "i VI iv V7", "i iv bVII bIII bVI ii° V7 i")},
        extras=("strings",),
    ),
    "electronic": Style(
        "electronic", 126, (110, 150), "minor", ("A", "F", "G", "C", "D"),
        "pad", "synth lead", "synth bass", "techno", "pump", "stab", 0.5, 0.55, 0.0,
        (2.0, 0.25), 1, 0.8,
        {"major": ("I V vi IV", "vi IV I V", "IV V iii vi"),
         "minor": ("i bVI bIII bVII", "i i bVI bVII", "i iv bVI bVII", "i7 bVII bVI bVII")},
        extras=("arp",), arp=True,
    ),
    "jazz": Style(
        "jazz", 132, (90, 200), "major", ("F", "Bb", "Eb", "C", "G"),
        "piano", "saxophone", "bass", "jazz", "walking", "jazz", 0.5, 0.6, 0.6, (1.6, 0.22), 1,
        0.5,
        {"major": ("ii7 V7 Imaj7 vi7", "Imaj7 vi7 ii7 V7", "iii7 vi7 ii7 V7"),
         "minor": ("iiø7 V7 i7 i7", "i7 iv7 iiø7 V7", "i7 bVI7 iiø7 V7")},
    ),
    "rock": Style(
        "rock", 124, (90, 170), "minor", ("E", "A", "D", "G"),
        "distorted guitar", "lead guitar", "bass", "rock", "eighths", "power", 0.5, 0.55, 0.0,
        (1.3, 0.15), 1, 0.85,
        {"major": ("I V vi IV", "I bVII IV I", "I IV bVII IV", "vi IV I V"),
         "minor": ("i bVI bIII bVII", "i bVII bVI bVII", "i iv bVI bVII", "i bIII bVII iv")},
    ),
    "folk": Style(
        "folk", 100, (70, 130), "major", ("G", "D", "C", "A", "E"),
        "acoustic guitar", "violin", "bass", "folk", "rootfifth", "strum", 0.5, 0.5, 0.0,
        (1.5, 0.2), 1, 0.45,
        {"major": ("I IV I V", "I V vi IV", "I vi IV V", "I IV vi V"),
         "minor": ("i bVII bVI bVII", "i iv i V", "i bIII bVII i")},
        extras=("harmonica",),
    ),
    "cinematic": Style(
        "cinematic", 90, (60, 130), "minor", ("D", "C", "E", "F", "G"),
        "strings", "brass", "low strings", "cinematic", "pedal", "pad", 1.0, 0.6, 0.0,
        (3.0, 0.4), 1, 0.6,
        {"major": ("I V vi IV", "I iii IV V", "IV I V vi"),
         "minor": ("i bVI bIII bVII", "i bVI iv V", "i bVII bVI V", "i iv bVI V")},
        extras=("piano", "bells"),
    ),
    "lofi": Style(
        "lofi", 82, (65, 95), "minor", ("C", "D", "F", "A", "Eb"),
        "electric piano", "electric guitar", "bass", "lofi", "sub", "lofi", 0.5, 0.4, 0.45,
        (1.8, 0.3), 1, 0.4,
        {"major": ("Imaj7 vi7 ii7 V7", "IVmaj7 iii7 ii7 Imaj7", "Imaj7 IVmaj7 iii7 vi7"),
         "minor": ("i7 iv7 bVIImaj7 bIIImaj7", "ii7 V7 i7 i7", "i9 bVImaj7 iv7 V7")},
    ),
    "pop": Style(
        "pop", 112, (84, 140), "major", ("C", "G", "D", "A", "F", "E"),
        "piano", "synth lead", "bass", "pop", "pop", "block", 0.5, 0.55, 0.0, (1.8, 0.22), 1,
        0.65,
        {"major": ("I V vi IV", "vi IV I V", "I vi IV V", "IV I V vi"),
         "minor": ("i bVI bIII bVII", "vi IV I V", "i iv bVI bVII")},
        extras=("pad",),
    ),
    "blues": Style(
        "blues", 96, (70, 140), "major", ("E", "A", "G", "C", "Bb"),
        "electric guitar", "harmonica", "bass", "shuffle", "boogie", "shuffle", 0.5, 0.5, 0.66,
        (1.5, 0.2), 1, 0.55,
        {"major": ("I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7",
                   "I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7"),
         "minor": ("i7 i7 i7 i7 iv7 iv7 i7 i7 bVI7 V7 i7 V7",)},
        extras=("organ",),
    ),
}

DEFAULT_GENRE = "pop"
