"""Language tags, through langcodes (IANA subtag registry, ISO 639): one place for every code.

ID3v2 frames (TLAN, COMM) want an ISO 639-2 three-letter code; RSS, WebVTT, HTML and the
Podcasting 2.0 transcript tag want a BCP 47 tag. A tag langcodes can't read, or a language with
no ISO 639-2 code, falls back to ID3's 'XXX' ("not known", the ID3v2 spec's word for it) and
BCP 47's 'und' (undetermined), instead of failing after the whole session was encoded.
"""

from __future__ import annotations

from functools import cache

ID3_UNKNOWN = "XXX"
BCP47_UNKNOWN = "und"


@cache
def bcp47(tag: str) -> str:
    """'en_US' -> 'en-US', 'cat' -> 'ca', 'iw' -> 'he'; 'und' when it is not a language tag."""
    import langcodes  # (0.07 s to import: only a build's tags and a feed need it)

    try:
        return langcodes.standardize_tag(tag)
    except (ValueError, LookupError):
        return BCP47_UNKNOWN


@cache
def iso639_2(tag: str) -> str:
    """'ca' -> 'cat', 'de-AT' -> 'deu' (ISO 639-2/T); 'XXX' when it has none."""
    import langcodes

    try:
        code = langcodes.Language.get(tag).to_alpha3()
    except (ValueError, LookupError):
        return ID3_UNKNOWN
    return code if len(code) == 3 and code.isascii() and code.isalpha() else ID3_UNKNOWN
