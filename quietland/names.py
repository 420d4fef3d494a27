"""How quietland reads and shows a person's name, for athletes in the history and for saved profiles alike.

A name is typed at a keyboard, copied from a results file or taken from a file name, so the same person arrives
spelled in several ways: with a doubled space, a stray tab, an 'ë' typed as 'e' and a combining mark, in capitals.
:func:`tidy_name` gives the one spelling stored and shown; :func:`name_key` what two spellings of one name share.
A name in Chinese or Japanese takes two terminal columns a letter: :func:`columns`, :func:`fit` and :func:`wrap`
lay text out by the columns it takes, so that 80-column tables stay 80 columns.
Standard library only: the history, the profiles and the command line all import it.
"""

from __future__ import annotations

import argparse
import textwrap
import unicodedata
from typing import Any

NAME_MAX = 60
"""The longest name, characters (an athlete's, a profile's): a profile's file name, ``.previous.toml`` after it,
fits 255 bytes in any alphabet, and a name fits a table's line."""

JOINERS = {"\u200c", "\u200d"}
"""Invisible characters a name keeps: the zero-width non-joiner and joiner, which change how letters join (Persian,
the Indic scripts) and which emoji a sequence shows. Every other format character (a zero-width space, a
direction override, a byte-order mark) is dropped: it would make two names that look the same two people."""


def tidy_name(value: Any) -> str | None:
    """A name as stored: control characters (a newline, a tab, a terminal's escape codes) become spaces, runs of
    spaces one, none at either end, and accented letters take one form (Unicode NFC: an 'ë' typed as 'e' and a
    combining mark is the 'ë' stored); None when nothing is left or ``value`` is not text. Such characters would
    break every table and line the name is printed in."""
    if not isinstance(value, str):
        return None
    spaced = "".join(" " if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in value
                     if c in JOINERS or unicodedata.category(c) != "Cf")
    return unicodedata.normalize("NFC", " ".join(spaced.split())) or None


def too_long(name: str) -> str | None:
    """The sentence for a name (as tidied) longer than :data:`NAME_MAX`, else None."""
    n = len(tidy_name(name) or "")
    return f"a name is at most {NAME_MAX} characters ({n} given)" if n > NAME_MAX else None


def athlete_argument(text: str) -> str:
    """An athlete's name on the command line (``--athlete``, ``rename``'s new name): as it will be stored
    (:func:`tidy_name`; empty when nothing is left, for the default), refused past :data:`NAME_MAX` characters."""
    if (problem := too_long(text)) is not None:
        raise argparse.ArgumentTypeError(problem)
    return tidy_name(text) or ""


def name_key(name: str) -> str:
    """What two spellings of one name share: the name as stored (:func:`tidy_name`) with no invisible character
    left, its case folded (every letter's, not only A-Z's: 'ÉMILE' is 'Émile') and its compatibility forms set
    aside (the full-width 'Ｍａｒｙ' an East Asian keyboard types is 'Mary', half-width 'ｶﾅ' is 'カナ', the ligature
    in 'ﬁona' is 'fi'), as Unicode's compatibility caseless matching does (D146: accents and their order taken
    apart before and after folding); and a space between two Chinese, Japanese or Korean letters does not count
    ('王 芳' is '王芳', '山田 太郎' '山田太郎': such names are written both ways)."""
    seen = "".join(c for c in tidy_name(name) or "" if c not in JOINERS)
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFD", seen).casefold())
    return _unspaced_words(unicodedata.normalize("NFKD", folded.casefold()))


_UNSPACED_SCRIPTS = ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA", "KATAKANA", "HANGUL")
"""Scripts whose names are written with or without a space between the family and the given name ('王芳', '王 芳';
'山田 太郎'), where a space between two of their letters does not make another name."""


def _unspaced_words(key: str) -> str:
    """``key`` without the spaces between two letters of :data:`_UNSPACED_SCRIPTS` (marks after the letter before
    it, such as a kana's voicing mark, set aside)."""
    kept = []
    for i, c in enumerate(key):
        if c == " ":
            before = next((b for b in reversed(key[:i]) if not unicodedata.combining(b)), "")
            if before and _unspaced(before) and _unspaced(key[i + 1 : i + 2]):
                continue
        kept.append(c)
    return "".join(kept)


_UNSPACED_MARKS = "\u3005\u3006\u3007"
"""Han letters whose Unicode names say otherwise: the iteration mark '々' ('奈々'), '〆' and the ideographic zero '〇'."""


def _unspaced(c: str) -> bool:
    return bool(c) and (c in _UNSPACED_MARKS or unicodedata.name(c, "").startswith(_UNSPACED_SCRIPTS))


def sort_key(name: str) -> tuple[str, str]:
    """Where ``name`` goes in a list of names: by its letters with case and accents set aside ('Émile' between
    'eve' and 'frank', not after 'zoë'), then by :func:`name_key`, so the order does not depend on the list's."""
    key = name_key(name)
    return "".join(c for c in key if not unicodedata.combining(c)), key


def _width(c: str) -> int:
    """Terminal columns character ``c`` takes: two for a wide one (Chinese, Japanese, Korean, most emoji), none for
    a combining mark or an invisible one, else one."""
    if unicodedata.category(c) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(c) in "WF" else 1


def columns(text: str) -> int:
    """Terminal columns ``text`` takes (:func:`_width` of each character)."""
    return sum(map(_width, text))


def cut(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns, ending in an ellipsis where it was cut."""
    if columns(text) <= width:
        return text
    while text and columns(text) > width - 1:
        text = text[:-1]
    return text + "…"


def fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns (:func:`cut`) and padded to them."""
    text = cut(text, width)
    return text + " " * (width - columns(text))


class _ColumnWrapper(textwrap.TextWrapper):
    """A :class:`textwrap.TextWrapper` for text whose wide characters each carry a NUL (see :func:`wrap`): a word too
    long for a line is never cut between a character and its NUL."""

    def _handle_long_word(self, reversed_chunks: list[str], cur_line: list[str], cur_len: int, width: int) -> None:
        # (textwrap's own, but for the one line marked)
        space_left = 1 if width < 1 else width - cur_len
        if self.break_long_words:
            end = space_left
            chunk = reversed_chunks[-1]
            if self.break_on_hyphens and len(chunk) > space_left:
                hyphen = chunk.rfind("-", 0, space_left)
                if hyphen > 0 and any(c != "-" for c in chunk[:hyphen]):
                    end = hyphen + 1
            if 0 < end < len(chunk) and chunk[end] == "\0":
                end -= 1  # (the character before it is wide: it goes to the next line whole)
                if end == 0 and not cur_line:
                    end = 2  # (a line one column wide: the character overflows it, rather than no line ending)
            cur_line.append(chunk[:end])
            reversed_chunks[-1] = chunk[end:]
        elif not cur_line:
            cur_line.append(reversed_chunks.pop())


def wrap(text: str, width: int, **options: Any) -> str:
    """:func:`textwrap.fill` by terminal columns: a wide character counts two (each carries a NUL that the wrapping
    counts and the result drops), so no line passes ``width`` columns (but for an indent that leaves no column
    for text, which gets one). ``options`` as for :func:`textwrap.fill` (its indents may hold wide characters)."""
    def pad(part: str) -> str:
        return "".join(c + "\0" if _width(c) == 2 else c for c in part)

    indents = [options.get(k, "") for k in ("initial_indent", "subsequent_indent")]
    width = max(width, 1 + max(map(columns, indents)))  # (an indent as wide as the line: textwrap never ends)
    for indent in ("initial_indent", "subsequent_indent"):
        if indent in options:
            options[indent] = pad(options[indent])
    return _ColumnWrapper(width, **options).fill(pad(text)).replace("\0", "")
