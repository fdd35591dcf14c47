"""Every song field reaches the pipeline: the text it encodes and the audio it renders.

On the tiny random-weight pipeline, so "changes the conditioning" is checked
where it happens: the strings ``AceStepPipeline`` hands its tokenizer, and the
audio that comes out with the same seed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

SONG = {
    "lyrics": "[verse]\nwalking home tonight\nunder amber lamps\n[chorus]\nwe are the night",
    "vocal_language": "en",
    "bpm": 120,
    "key": "C major",
    "time_signature": "4/4",
}


@pytest.fixture
def heard(engine, monkeypatch):
    """The strings the pipeline's tokenizer receives, newest call last."""
    tokenizer_class = type(engine._pipe.tokenizer)
    encode = tokenizer_class.__call__
    texts: list[str] = []

    def spy(self, text, *args, **kwargs):
        texts.extend([text] if isinstance(text, str) else text)
        return encode(self, text, *args, **kwargs)

    monkeypatch.setattr(tokenizer_class, "__call__", spy)
    return texts


def render(engine, **song):
    return engine.generate(prompt="dreamy indie pop", duration=2, seed=5, **song)


def captions(texts):
    return [t for t in texts if t.startswith("# Instruction")]


def lyric_texts(texts):
    return [t for t in texts if t.startswith("# Languages")]


@pytest.mark.parametrize(
    ("field", "other", "caption_has", "lyrics_have"),
    [
        ("lyrics", "[verse]\nrain on the window", None, "# Lyric\n[Verse]\nrain on the window"),
        ("vocal_language", "fr", None, "# Languages\nfr\n"),
        ("bpm", 90, "- bpm: 90\n", None),
        ("key", "F# minor", "- keyscale: F# minor\n", None),
        ("time_signature", "6/8", "- timesignature: 6\n", None),
    ],
)
def test_each_field_changes_the_encoded_text_and_the_audio(
    engine, heard, field, other, caption_has, lyrics_have
):
    base = render(engine, **SONG)
    base_texts = list(heard)
    heard.clear()
    changed = render(engine, **{**SONG, field: other})

    assert not np.array_equal(base, changed), f"{field} did not change the audio"
    # Exactly one of the two encoded strings differs, and it carries the value.
    (caption,), (lyric,) = captions(heard), lyric_texts(heard)
    (base_caption,), (base_lyric,) = captions(base_texts), lyric_texts(base_texts)
    if caption_has:
        assert caption_has in caption and caption_has not in base_caption
        assert lyric == base_lyric
    else:
        assert lyrics_have in lyric and lyrics_have not in base_lyric
        assert caption == base_caption


def test_a_full_request_as_the_pipeline_encodes_it(engine, heard):
    render(
        engine,
        genre="synthwave",
        lyrics="[intro]\n[verse]\nwalking home\n[pre-chorus]\nwait for me\n[chorus]\nwe glow",
        vocal_language="ja",
        bpm=128,
        key="Bb major",
        time_signature="3/4",
    )
    (caption,), (lyric,) = captions(heard), lyric_texts(heard)
    assert "# Caption\nsynthwave, dreamy indie pop\n" in caption
    metas = "- bpm: 128\n- timesignature: 3\n- keyscale: Bb major\n- duration: 2 seconds\n"
    assert metas in caption
    assert lyric == (
        "# Languages\nja\n\n# Lyric\n"
        "[Intro]\n\n[Verse]\nwalking home\n\n[Pre-Chorus]\nwait for me\n\n[Chorus]\nwe glow"
        "<|endoftext|>"
    )


def test_unspecified_fields_are_left_to_the_model(engine, heard):
    render(engine)
    (caption,), (lyric,) = captions(heard), lyric_texts(heard)
    assert "- bpm: N/A\n- timesignature: N/A\n- keyscale: N/A\n" in caption
    assert lyric == "# Languages\nunknown\n\n# Lyric\n[Instrumental]<|endoftext|>"


def test_instrumental_request_sings_nothing_whatever_the_language(engine, heard):
    render(engine, instrumental=True, vocal_language="de", bpm=100)
    (lyric,) = lyric_texts(heard)
    assert lyric == "# Languages\nunknown\n\n# Lyric\n[Instrumental]<|endoftext|>"


def test_lyrics_without_a_language_are_sung_in_english(engine, heard):
    render(engine, lyrics="la la la")
    (lyric,) = lyric_texts(heard)
    assert lyric == "# Languages\nen\n\n# Lyric\n[Verse]\nla la la<|endoftext|>"


def test_understand_reports_what_the_pipeline_gets(acestep_env):
    from inference import get_engine

    engine = get_engine()  # no setup needed
    song = {**SONG, "time_signature": "6/8", "key": "F# minor"}
    info = engine.understand(prompt="dreamy indie pop", duration=30, seed=3, **song)
    json.dumps(info)
    kwargs = engine.pipeline_kwargs(prompt="dreamy indie pop", duration=30, **song)
    assert info["caption"] == kwargs["prompt"] == "dreamy indie pop"
    assert info["lyrics"] == kwargs["lyrics"]
    assert info["lyrics"].startswith("[Verse]\nwalking home tonight\n")
    assert info["lyrics_mode"] == "lyrics"
    used = {k: info[k] for k in ("vocal_language", "bpm", "keyscale", "timesignature")}
    assert used == {
        "vocal_language": "en",
        "bpm": 120,
        "keyscale": "F# minor",
        "timesignature": "6",
    }
    plain = engine.understand(prompt="dreamy indie pop", duration=30)
    assert plain["lyrics_mode"] == "instrumental" and plain["vocal_language"] == "unknown"
    assert plain["bpm"] is plain["keyscale"] is plain["timesignature"] is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("bpm", 300),
        ("key", "H major"),
        ("time_signature", "5/4"),
        ("vocal_language", "xx"),
        ("lyrics", "[solo]\nla"),
        ("instrumental", "yes"),
    ],
)
def test_bad_song_fields_are_refused_before_setup(acestep_env, field, value):
    from inference import get_engine

    engine = get_engine()
    for call in (engine.generate, engine.understand):
        with pytest.raises(ValueError, match=field):
            call(prompt="piano", duration=2, **{field: value})
