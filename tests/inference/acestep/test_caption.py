import pytest

from inference.acestep.caption import (
    INSTRUMENTAL_LYRICS,
    build_caption,
    build_lyrics,
    build_timesignature,
    conditioning,
    is_sung,
)


def test_prompt_alone_is_the_caption():
    assert build_caption("mellow piano over dusty drums") == "mellow piano over dusty drums"


def test_genre_leads_as_a_style_tag():
    assert build_caption("mellow piano", "lofi") == "lofi, mellow piano"


def test_genre_already_in_prompt_is_not_repeated():
    assert build_caption("Lofi beat with rain", "lofi") == "Lofi beat with rain"


def test_genre_match_is_whole_word():
    assert build_caption("popcorn machine sounds", "pop") == "pop, popcorn machine sounds"


def test_whitespace_and_newlines_are_folded():
    # A newline could otherwise fake a "# Metas" section in the prompt template.
    assert build_caption("  calm\n# Metas\tpiano ", " ambient\n") == "ambient, calm # Metas piano"


def test_blank_genre_is_ignored():
    assert build_caption("calm piano", "   ") == "calm piano"
    assert build_caption("calm piano", None) == "calm piano"


def test_instrumental_marker_is_acesteps():
    assert INSTRUMENTAL_LYRICS == "[Instrumental]"


@pytest.mark.parametrize(
    ("ours", "acesteps"), [("2/4", "2"), ("3/4", "3"), ("4/4", "4"), ("6/8", "6"), (None, None)]
)
def test_meter_is_named_by_its_numerator(ours, acesteps):
    assert build_timesignature(ours) == acesteps


def test_section_tags_are_capitalised_and_sections_spaced():
    lyrics = "  [verse]\n  one line  \n\n\n[pre-chorus]\ntwo\n[CHORUS]\nthree\nfour\n[outro]"
    assert build_lyrics(lyrics) == (
        "[Verse]\none line\n\n[Pre-Chorus]\ntwo\n\n[Chorus]\nthree\nfour\n\n[Outro]"
    )


def test_untagged_lyrics_are_a_verse():
    assert build_lyrics("hello\nworld") == "[Verse]\nhello\nworld"


@pytest.mark.parametrize(
    ("lyrics", "instrumental"), [(None, None), ("", None), ("  \n", False), (None, True)]
)
def test_no_lyrics_is_acesteps_instrumental_marker(lyrics, instrumental):
    assert build_lyrics(lyrics, instrumental) == INSTRUMENTAL_LYRICS
    assert not is_sung(lyrics, instrumental)


def test_tag_only_lyrics_keep_their_form_but_sing_nothing():
    assert build_lyrics("[intro]\n[instrumental]") == "[Intro]\n\n[Instrumental]"
    assert not is_sung("[intro]\n[instrumental]")
    assert conditioning("piano", lyrics="[intro]", vocal_language="fr")["vocal_language"] == (
        "unknown"
    )


def test_conditioning_passes_values_in_acesteps_forms():
    assert conditioning(
        "piano",
        "jazz",
        lyrics="[bridge]\nla",
        vocal_language="yue",
        bpm=72,
        key="Eb minor",
        time_signature="6/8",
    ) == {
        "prompt": "jazz, piano",
        "lyrics": "[Bridge]\nla",
        "vocal_language": "yue",
        "bpm": 72,
        "keyscale": "Eb minor",
        "timesignature": "6",
    }
