"""quietland.names: one reading of a person's name for athletes and profiles, and text laid out by the terminal
columns it takes (a Chinese or Japanese name takes two a character)."""

import argparse
import random
import textwrap

import pytest

from quietland.names import NAME_MAX, athlete_argument, columns, cut, fit, name_key, sort_key, tidy_name, wrap


def test_a_name_is_stored_tidied_and_matched_however_it_was_typed():
    assert tidy_name("  Mary \t\n Jane ") == "Mary Jane" and tidy_name("Zoe\u0308") == "Zoë"
    assert tidy_name(" \u200b ") is None and tidy_name(7) is None
    # a zero-width space or a direction override makes a name that looks like another: dropped
    assert tidy_name("Jo\u200bhn") == "John" and tidy_name("\u202eann") == "ann"
    # the joiners shape letters and emoji: kept in the name stored, not in the comparison
    assert tidy_name("a\u200db") == "a\u200db" and name_key("a\u200db") == name_key("AB")
    assert name_key("ÉMILE") == name_key("e\u0301mile") and name_key("ann") != name_key("anne")
    # compatibility forms: the full-width letters an East Asian keyboard types, half-width kana, a ligature
    assert name_key("Ｍａｒｙ") == name_key("mary") and name_key("ｶﾅ") == name_key("カナ")
    assert name_key("\ufb01ona") == name_key("Fiona") and tidy_name("Ｍａｒｙ") == "Ｍａｒｙ"  # (stored as typed)
    assert name_key("王芳") != name_key("王方") and name_key("Ｍａｒｙ") != name_key("Ｍａｒｉｅ")
    # a space between two Chinese, Japanese or Korean letters: such names are written both ways
    assert name_key("王 芳") == name_key("王芳") and name_key("山田　太郎") == name_key("山田太郎")
    assert name_key("ｶﾞｸ ﾄ") == name_key("ガクト") and name_key("김 민준") == name_key("김민준")
    assert name_key("奈々 佐藤") == name_key("奈々佐藤") and name_key("〇 太郎") == name_key("〇太郎")
    assert name_key("Mary Jane") != name_key("MaryJane") and name_key("王 Fang") != name_key("王Fang")


def test_names_sort_by_their_letters_with_case_and_accents_set_aside():
    names = ["zoë", "Émile", "JOHN", "ann", "unknown", "eve", "frank"]
    assert sorted(names, key=sort_key) == ["ann", "Émile", "eve", "frank", "JOHN", "unknown", "zoë"]


def test_an_athletes_name_on_the_command_line_is_tidied_and_has_a_length_limit():
    assert athlete_argument(" ann  lee ") == "ann lee" and athlete_argument("") == ""
    assert athlete_argument("a" * NAME_MAX) == "a" * NAME_MAX
    with pytest.raises(argparse.ArgumentTypeError, match=f"at most {NAME_MAX} characters \\({NAME_MAX + 1} given\\)"):
        athlete_argument("a" * (NAME_MAX + 1))


def test_columns_count_wide_characters_twice_and_marks_not_at_all():
    assert columns("ann") == 3 and columns("王芳") == 4 and columns("Zoe\u0308") == 3 and columns("🏃") == 2
    assert cut("王芳王芳", 5) == "王芳…" and cut("abc", 3) == "abc" and cut("abcdef", 4) == "abc…"
    assert fit("王芳王芳", 6) == "王芳… " and columns(fit("王芳王芳", 6)) == 6 and fit("ab", 4) == "ab  "


def test_wrapping_keeps_every_line_within_its_columns_and_ascii_text_as_textwrap_wraps_it():
    rng = random.Random(7)
    alphabet = "abcdefgh  王芳さくら山田 ë\u0301-"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 200)))
        indent = rng.choice(["", " ", "  ", "王 ", "ab"])
        head = rng.choice(["", "x: ", "山田: "])
        width = rng.randrange(columns(head + indent) + 2, 81)  # (room for a wide character after either indent)
        whole = rng.random() < 0.5  # (break_long_words False: a word longer than a line has a line of its own)
        lines = wrap(text, width, initial_indent=head, subsequent_indent=indent, break_long_words=not whole).split("\n")
        longest = max(map(columns, [head + w for w in text.split()] + [indent + w for w in text.split()])) if whole else 0
        assert max(map(columns, lines)) <= max(width, longest), (text, width, head, indent)
        if lines != [""]:  # (nothing lost, nothing added: each line less its indent)
            assert lines[0].startswith(head) and all(line.startswith(indent) for line in lines[1:])
            body = [lines[0][len(head):]] + [line[len(indent):] for line in lines[1:]]
            assert "".join(text.split()) == "".join("".join(body).split()), (text, width, head, indent)
    assert wrap("王芳", 1) == "王\n芳"  # (a line too narrow for one wide character still ends)
    assert wrap(" x", 1, initial_indent="abc") == "abcx"  # (textwrap alone never ends when the indent fills the line)
    plain = "median score        61 (profile 'ann', made 2026-11-20) and then some words past the edge of eighty"
    for width in (20, 40, 80):
        assert wrap(plain, width, subsequent_indent=" " * 4) == textwrap.fill(plain, width, subsequent_indent=" " * 4)
