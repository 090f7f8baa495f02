from __future__ import annotations

import pytest

from audio.phonemes import (
    ARPABET,
    PHONEMES,
    SILENCE,
    articulation,
    from_espeak,
    from_ipa,
    group_ipa,
    is_bilabial,
    is_labiodental,
    is_rounded,
    is_spread,
    is_vowel,
    openness,
)


def test_the_shared_set_is_arpabet_39_plus_sil() -> None:
    assert len(ARPABET) == 39 and len(set(ARPABET)) == 39
    assert PHONEMES[0] == SILENCE and len(PHONEMES) == 40
    assert all(p == p.lower() and not any(c.isdigit() for c in p) for p in PHONEMES)


def test_articulation_orders_jaw_opening_by_vowel_height() -> None:
    assert openness("aa") > openness("ae") > openness("eh") > openness("ih") > openness("iy")
    assert openness("ah") == pytest.approx(0.8) and openness("uw") == pytest.approx(0.2)
    assert all(openness(p) <= 0.3 for p in PHONEMES if not is_vowel(p))
    assert all(0.0 <= openness(p) <= 1.0 for p in PHONEMES)
    assert [p for p in PHONEMES if is_bilabial(p)] == ["b", "m", "p"]
    assert {p for p in PHONEMES if is_labiodental(p)} == {"f", "v"}
    assert {p for p in PHONEMES if is_rounded(p)} == {"w", "uw", "ow", "uh", "ao", "oy"}
    assert {p for p in PHONEMES if is_spread(p)} == {"iy", "eh", "ih", "ey", "ae"}
    with pytest.raises(ValueError, match="unknown phoneme 'AA'"):
        articulation("AA")


def test_espeak_mnemonics_map_into_the_set() -> None:
    assert from_espeak("_:") == (SILENCE,)
    assert from_espeak("tS") == ("ch",)
    assert from_espeak("A@") == ("aa", "r")
    assert from_espeak("i@3") == ("ih", "r")
    assert from_espeak("t#") == ("t",)
    assert from_espeak("@2") == ("ah",)  # variant digit stripped
    assert from_espeak("t[") == ("t",)  # dental t of the Caribbean voice
    assert from_espeak("Q!") == ()  # unknown: nothing invented


def test_piper_ipa_groups_into_phonemes() -> None:
    symbols = ["^", "ð", "ˈ", "ɛ", "ɹ", ",", " ", "f", "ˈ", "a", "ɪ", "v", " ", "d", "ʒ", "$"]
    groups = group_ipa(symbols)
    names = [name for name, _ in groups]
    assert names == ["^", "ð", "ɛ", "ɹ", ",", "f", "aɪ", "v", "dʒ", "$"]
    # piper splits affricates into code points: d ʒ is one jh.
    # stress marks belong to the vowel after them, word breaks to the phoneme before
    assert dict(groups)["ɛ"] == [2, 3] and dict(groups)[","] == [5, 6]
    assert [p for name in names for p in from_ipa(name)] == [
        SILENCE, "dh", "eh", "r", SILENCE, "f", "ay", "v", "jh", SILENCE,
    ]  # fmt: skip
    assert from_ipa("tʃ") == ("ch",) and from_ipa("oʊ") == ("ow",) and from_ipa("iː") == ("iy",)
