from inference.acestep.caption import INSTRUMENTAL_LYRICS, build_caption


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
