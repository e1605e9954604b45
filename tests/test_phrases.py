"""Phrasing: a line is cut into phrases at sentence ends and long clauses (pure text)."""

import pytest

from pipeline.delivery import Phrasing, check_phrasing
from pipeline.narration.phrases import Phrase, phrases

CALM = Phrasing(sentence_s=0.9, clause_s=0.45)


def test_sentences_become_phrases_with_the_sentence_pause() -> None:
    got = phrases("Clench your left hand into a tight fist. Hold.", CALM)
    assert got == (Phrase("Clench your left hand into a tight fist.", 0.9), Phrase("Hold.", 0.0))


def test_long_clauses_are_cut_short_ones_stay_whole() -> None:
    text = "Now, let your shoulders drop, and feel the weight of your arms sink into the chair."
    got = phrases(text, CALM)
    assert [p.text for p in got] == [
        "Now, let your shoulders drop,",
        "and feel the weight of your arms sink into the chair.",
    ]
    assert [p.pause_after_s for p in got] == [0.45, 0.0]


def test_clause_pause_zero_keeps_clauses_whole() -> None:
    text = "Let your shoulders drop, and feel the weight of your arms."
    assert phrases(text, Phrasing(0.8, 0.0)) == (Phrase(text, 0.0),)


def test_an_engine_limit_cuts_further_but_never_merges_sentences() -> None:
    text = "Rest. " + "breathe slowly and " * 8 + "rest."
    got = phrases(text, CALM, max_chars=100)
    assert got[0] == Phrase("Rest.", 0.9)
    assert all(len(p.text) <= 100 for p in got)
    assert " ".join(p.text for p in got) == " ".join(text.split())


def test_one_sentence_is_one_phrase() -> None:
    assert phrases("  And   release.  ", CALM) == (Phrase("And release.", 0.0),)


def test_phrasing_tables_are_checked() -> None:
    assert check_phrasing({"sentence": 1, "clause": 0.5}, "x") == Phrasing(1.0, 0.5)
    assert check_phrasing({}, "x") == Phrasing()
    for bad, says in [
        ({"sentance": 1}, "x.sentance: unknown key; valid: sentence, clause"),
        ({"sentence": -1}, "x.sentence: -1 s; give 0 to 5 seconds"),
        ({"clause": "long"}, "x.clause: 'long' is not a number of seconds"),
        (0.8, "x: give a table"),
    ]:
        with pytest.raises(ValueError) as error:
            check_phrasing(bad, "x")
        assert says in str(error.value)
