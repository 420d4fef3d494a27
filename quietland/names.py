"""How quietland reads a person's name, for athletes in the history and for saved profiles alike.

A name is typed at a keyboard, copied from a results file or taken from a file name, so the same person arrives
spelled in several ways: with a doubled space, a stray tab, an 'ë' typed as 'e' and a combining mark, in capitals.
:func:`tidy_name` gives the one spelling stored and shown; :func:`name_key` what two spellings of one name share.
Standard library only: the history, the profiles and the command line all import it.
"""

from __future__ import annotations

import unicodedata
from typing import Any


def tidy_name(value: Any) -> str | None:
    """A name as stored: control characters (a newline, a tab, a terminal's escape codes) become spaces, runs of
    spaces one, none at either end, and accented letters take one form (Unicode NFC: an 'ë' typed as 'e' and a
    combining mark is the 'ë' stored); None when nothing is left or ``value`` is not text. Such characters would
    break every table and line the name is printed in."""
    if not isinstance(value, str):
        return None
    cleaned = " ".join("".join(" " if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in value).split())
    return unicodedata.normalize("NFC", cleaned) or None


def name_key(name: str) -> str:
    """What two spellings of one name share: the name as stored (:func:`tidy_name`), its case folded (every
    letter's, not only A-Z's: 'ÉMILE' is 'Émile'), as Unicode's canonical caseless matching does (accents and their
    order taken apart before and after folding)."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", tidy_name(name) or "").casefold())


def sort_key(name: str) -> tuple[str, str]:
    """Where ``name`` goes in a list of names: by its letters with case and accents set aside ('Émile' between
    'eve' and 'frank', not after 'zoë'), then by :func:`name_key`, so the order does not depend on the list's."""
    key = name_key(name)
    return "".join(c for c in key if not unicodedata.combining(c)), key
