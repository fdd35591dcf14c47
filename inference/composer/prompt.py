"""Reading a text prompt: genre, mood, tempo, key, instruments and ambience.

Everything here depends only on (prompt, genre), never on the seed, so that
``understand()`` can be answered without a seed and still match the render.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache

from inference.composer.meter import meter_in_text
from inference.composer.styles import DEFAULT_GENRE, STYLES
from inference.composer.theory import NOTE_NAMES, pitch_class

# Checked in order; multi-word phrases count double so "hip hop" beats "pop".
GENRE_WORDS: dict[str, tuple[str, ...]] = {
    "lofi": ("lo-fi", "lofi", "lo fi", "hip hop", "hip-hop", "hiphop", "chillhop", "boom bap",
             "beats to study", "study beats", "rap", "trap", "study", "studying"),
    "ambient": ("ambient", "soundscape", "drone", "atmospheric", "ethereal", "meditation",
                "new age", "space music"),
    "classical": ("classical", "sonata", "nocturne", "baroque", "chamber", "etude", "prelude",
                  "romantic era", "solo piano", "piano piece", "concerto", "minuet"),
    "electronic": ("techno", "edm", "house", "electronic", "trance", "club", "rave", "dance",
                   "synthwave", "electro", "dubstep", "drum and bass", "dnb", "electronica"),
    "jazz": ("jazz", "jazzy", "swing", "bebop", "bossa", "big band", "smooth jazz"),
    "rock": ("rock", "metal", "punk", "grunge", "hard rock", "riff", "headbang", "anthem"),
    "folk": ("folk", "acoustic", "country", "bluegrass", "singer-songwriter", "campfire",
             "americana", "celtic"),
    "cinematic": ("cinematic", "orchestral", "orchestra", "film score", "soundtrack", "trailer",
                  "score", "movie", "epic music", "symphonic"),
    "pop": ("pop", "synthpop", "radio", "catchy", "chart"),
    "blues": ("blues", "bluesy", "delta", "12-bar", "twelve bar", "shuffle"),
}
GENRE_ALIASES = {"piano": "classical", "hip hop": "lofi", "orchestral": "cinematic",
                 "acoustic": "folk", "metal": "rock", "edm": "electronic", "techno": "electronic",
                 "house": "electronic", "lo-fi": "lofi", "chill": "lofi", "film": "cinematic"}

# canonical instrument -> prompt phrases (longest phrases are matched first)
INSTRUMENT_WORDS: dict[str, tuple[str, ...]] = {
    "electric piano": ("electric piano", "e-piano", "rhodes", "wurlitzer", "keys"),
    "piano": ("piano", "grand piano", "pianos"),
    "acoustic guitar": ("acoustic guitar", "nylon guitar", "classical guitar", "fingerpicked",
                        "ukulele", "mandolin", "banjo"),
    "distorted guitar": ("distorted guitar", "distortion", "heavy guitar", "power chord",
                         "overdrive", "crunchy guitar", "riffs"),
    "electric guitar": ("electric guitar", "clean guitar", "jazz guitar", "twangy"),
    "lead guitar": ("guitar solo", "lead guitar", "shredding"),
    "bass": ("bass guitar", "upright bass", "double bass", "bassline", "bass line", "bass"),
    "synth bass": ("synth bass", "808", "sub bass", "reese"),
    "drums": ("drums", "drum", "percussion", "beat", "beats", "groove", "kit"),
    "strings": ("strings", "string section", "violins", "cello", "orchestra", "viola"),
    "violin": ("violin", "fiddle"),
    "brass": ("brass", "horns", "horn", "trumpet", "trumpets", "trombone", "tuba"),
    "saxophone": ("saxophone", "sax"),
    "synth lead": ("synth lead", "lead synth", "synth", "synths", "synthesizer", "chiptune"),
    "pad": ("pad", "pads", "synth pad", "warm pad"),
    "arp": ("arp", "arps", "arpeggio", "arpeggios", "arpeggiated", "sequence"),
    "organ": ("organ", "hammond", "church organ"),
    "flute": ("flute", "flutes", "pan flute", "whistle"),
    "harmonica": ("harmonica", "harp blues", "mouth harp"),
    "bells": ("bells", "bell", "chimes", "chime", "glockenspiel", "music box", "celesta"),
}
AMBIENCE_WORDS = {
    "rain": ("rain", "rainy", "raining", "storm", "thunder", "drizzle"),
    "vinyl": ("vinyl", "crackle", "record player", "dusty"),
    "ocean": ("ocean", "waves", "sea", "beach", "surf", "shore"),
    "wind": ("wind", "windy", "breeze", "gust"),
}
BRIGHT = ("cheerful", "upbeat", "happy", "joyful", "bright", "sunny", "uplifting", "playful",
          "fun", "summer", "optimistic", "triumphant", "hopeful", "celebration", "festive")
DARK = ("sad", "melancholic", "melancholy", "dark", "gloomy", "somber", "sombre", "moody",
        "mysterious", "tense", "haunting", "lonely", "sorrow", "eerie", "ominous", "tragic",
        "heartbreak", "grief", "brooding", "sinister")
CALM = ("relaxing", "calm", "chill", "peaceful", "gentle", "soft", "mellow", "sleepy", "quiet",
        "soothing", "dreamy", "serene", "meditative", "lullaby", "slow", "tranquil", "study",
        "smooth", "late night", "lazy", "laid back", "laid-back", "romantic", "tender")
ENERGETIC = ("energetic", "fast", "driving", "intense", "aggressive", "heavy", "powerful",
             "hard", "wild", "party", "pumping", "loud", "frantic", "upbeat", "anthem")
EPIC = ("epic", "powerful", "heroic", "grand", "majestic", "triumphant", "massive", "huge",
        "anthem", "soaring")

# Sub-styles whose tempo is part of their identity: (typical bpm, allowed range).
SUBSTYLE_TEMPO = {
    "drum and bass": (172, (160, 180)), "dnb": (172, (160, 180)), "jungle": (165, (155, 180)),
    "dubstep": (140, (135, 150)), "trance": (138, (128, 145)), "house": (124, (118, 128)),
    "techno": (130, (120, 145)), "synthwave": (104, (90, 118)), "boom bap": (90, (84, 96)),
    "bossa": (128, (110, 145)), "ballad": (72, (60, 84)), "bebop": (200, (170, 220)),
    "doom": (70, (55, 85)), "punk": (170, (150, 200)),
}

_BPM_RE = re.compile(r"(\d{2,3}(?:\.\d+)?)\s*(?:bpm|beats per minute)")
_KEY_RE = re.compile(
    r"\b(?:key of ([a-g])(#|b| sharp| flat)?(?: (major|minor))?"
    r"|([a-g])(#|b| sharp| flat)? (major|minor))(?![\w-])"
)
_NEGATION = r"(?:no|without|minus|zero)\s+(?:\w+\s+)?"


def stable_hash(*parts: object) -> int:
    """A process-independent 63-bit hash (Python's hash() is salted per process)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1


@cache
def _word(phrase: str, plural: bool = False) -> re.Pattern:
    return re.compile(rf"(?<![\w-]){re.escape(phrase)}{'s?' if plural else ''}(?![\w-])")


@cache
def _negation(phrase: str) -> re.Pattern:
    return re.compile(rf"\b{_NEGATION}{re.escape(phrase)}s?\b")


def _has(text: str, phrase: str) -> bool:
    return _word(phrase).search(text) is not None


def _count(text: str, words: tuple[str, ...]) -> int:
    return sum(_has(text, w) for w in words)


def _negated(text: str, phrase: str) -> bool:
    return _negation(phrase).search(text) is not None


def genre_from_name(genre: str | None) -> str | None:
    if genre is None or not genre.strip():
        return None
    g = " ".join(genre.strip().lower().replace("_", " ").split())
    if g in STYLES:
        return g
    if g in GENRE_ALIASES:
        return GENRE_ALIASES[g]
    for name, words in GENRE_WORDS.items():
        if g in words or any(_has(g, w) for w in words):
            return name
    return None


def detect_instruments(text: str) -> list[str]:
    """Named instruments in the order the prompt mentions them."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    phrases = sorted(((p, inst) for inst, ps in INSTRUMENT_WORDS.items() for p in ps),
                     key=lambda x: -len(x[0]))
    for phrase, inst in phrases:
        for m in _word(phrase, True).finditer(text):
            span = (m.start(), m.end())
            if any(s < span[1] and span[0] < e for s, e in taken):
                continue
            taken.append(span)
            if not _negated(text, phrase) and inst not in (i for _, i in found):
                found.append((m.start(), inst))
    guitar = re.search(r"(?<![\w-])guitars?(?![\w-])", text)
    if guitar and not any("guitar" in i for _, i in found) and not _negated(text, "guitar"):
        found.append((guitar.start(), "guitar"))  # the genre decides which kind
    return [inst for _, inst in sorted(found)]


@dataclass(frozen=True)
class Reading:
    genre: str
    mode: str
    tonic: int
    tempo: float
    energy: float
    epic: bool
    calm: bool
    named: tuple[str, ...]
    excluded: tuple[str, ...]
    ambience: tuple[str, ...]
    meter: str = "4/4"
    stated: tuple[str, ...] = ()  # of tempo, key, time_signature: what the text said outright
    spelling: str | None = None  # the tonic as the request wrote it ('Db', not 'C#')

    @property
    def key(self) -> str:
        return self.spelling or NOTE_NAMES[self.tonic]


def read_prompt(prompt: str, genre: str | None = None) -> Reading:
    text = " ".join(prompt.lower().split())
    chosen = genre_from_name(genre)
    named = detect_instruments(_BPM_RE.sub(" ", text))
    if chosen is None:
        scores = {g: _count(text, ws) + sum(" " in w and _has(text, w) for w in ws)
                  for g, ws in GENRE_WORDS.items()}
        best = max(scores.values())
        chosen = next(g for g in GENRE_WORDS if scores[g] == best) if best else None
    if chosen is None:
        chosen = _genre_from_instruments(named, text)
    style = STYLES[chosen]

    bright, dark = _count(text, BRIGHT), _count(text, DARK)
    calm, energetic, epic = _count(text, CALM), _count(text, ENERGETIC), _count(text, EPIC)
    mode = style.mode
    if bright > dark:
        mode = "major"
    elif dark > bright:
        mode = "minor"
    energy = style.energy + 0.15 * (energetic + epic + bright) - 0.18 * (calm + dark * 0.5)
    energy = min(1.0, max(0.05, energy))

    h = stable_hash(text, chosen)
    tonic = pitch_class(style.keys[h % len(style.keys)])
    key_match = _KEY_RE.search(text)
    if key_match:
        g = key_match.groups()
        letter, acc, quality = g[:3] if g[0] else g[3:]
        acc = (acc or "").strip()
        tonic = pitch_class(letter.upper() + {"sharp": "#", "flat": "b"}.get(acc, acc))
        mode = quality or mode

    base, (lo, hi) = style.tempo, style.tempo_range
    sub = next((v for k, v in SUBSTYLE_TEMPO.items() if _has(text, k)), None)
    if sub:
        base, (lo, hi) = sub
    tempo = base * (1 + 0.1 * (bright + energetic) - 0.1 * (calm + dark))
    tempo = tempo * (1 + ((h >> 8) % 7 - 3) * 0.01)  # small per-prompt variety
    tempo = round(min(hi, max(lo, tempo)))
    bpm = _BPM_RE.search(text)
    if bpm:
        tempo = round(min(220.0, max(40.0, float(bpm.group(1)))), 2)
    meter = meter_in_text(f"{text} {(genre or '').lower()}")
    stated = tuple(name for name, found in (("tempo", bpm), ("key", key_match),
                                            ("time_signature", meter)) if found)

    excluded = tuple(i for i, ws in INSTRUMENT_WORDS.items() if any(_negated(text, w) for w in ws))
    ambience = tuple(a for a, ws in AMBIENCE_WORDS.items()
                     if any(_has(text, w) and not _negated(text, w) for w in ws))
    return Reading(chosen, mode, tonic, float(tempo), round(energy, 3), epic > 0,
                   calm > energetic, tuple(named), excluded, ambience, meter or "4/4", stated)


def _genre_from_instruments(named: list[str], text: str) -> str:
    hints = {"distorted guitar": "rock", "lead guitar": "rock", "saxophone": "jazz",
             "harmonica": "blues", "acoustic guitar": "folk", "violin": "folk",
             "synth lead": "electronic", "arp": "electronic", "synth bass": "electronic",
             "brass": "cinematic", "strings": "cinematic", "electric piano": "lofi",
             "pad": "ambient", "bells": "ambient", "piano": "classical"}
    for inst in named:
        if inst in hints:
            return hints[inst]
    if _count(text, CALM) > 1:
        return "ambient"
    return DEFAULT_GENRE
