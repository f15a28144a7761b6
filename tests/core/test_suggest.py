""""Did you mean" (core/suggest.py): difflib's ratio and tie-break, scored by rapidfuzz."""

from __future__ import annotations

import difflib

from hypothesis import given, settings
from hypothesis import strategies as st

from clawctl.core.suggest import closest, did_you_mean


def test_a_misspelt_key_finds_its_name():
    assert did_you_mean("chanels", ["channels", "capabilities", "domain"]) == " (did you mean `channels`?)"
    assert did_you_mean("channels", ["channels"]) == ""  # the word itself is no suggestion
    assert did_you_mean("zzz", ["channels", "domain"]) == ""


def test_ties_go_to_the_greatest_name_as_difflib_picks():
    choices = ["sup-usw-0105", "sup-usw-0905", "sup-usw-0005"]
    assert closest("sup-usw-0x05", choices) == "sup-usw-0905"
    assert difflib.get_close_matches("sup-usw-0x05", choices, n=1)[0] == "sup-usw-0905"


def test_the_cutoff_is_inclusive():
    assert closest("abcxy", ["abcde"]) == "abcde"  # 2*3/10 = 0.6
    assert closest("abxyz", ["abcde"]) is None  # 0.4


def test_case_insensitive_matching_returns_the_choice_as_spelt():
    assert closest("europe/berln", ["Europe/Berlin", "Europe/Paris"], case_insensitive=True) == "Europe/Berlin"
    assert closest("EUROPE", ["europe"]) is None  # case-sensitive unless asked: no letter in common
    assert closest("EUROPE", ["europe", "asia"], case_insensitive=True) == "europe"


def test_the_agent_ids_of_a_large_fleet_get_the_same_suggestion_as_difflib():
    ids = [f"{team}-{region}-{n:04d}" for team in ("sal", "sup", "bil") for region in ("eu", "use", "ap")
           for n in range(0, 400, 7)]
    words = ["sal-eu-0x14", "sup-ap-0140", "bil-use0007", "sal_eu_0021", "sup-eu-03a5", "bl-ap-0098"]
    for word in words:
        assert closest(word, ids) == difflib.get_close_matches(word, ids, n=1)[0], word


names = st.text(alphabet="abcde-_", min_size=1, max_size=10)


@settings(max_examples=300, deadline=None)
@given(names, st.lists(names, min_size=1, max_size=20))
def test_whatever_difflib_would_suggest_something_is_suggested(word, choices):
    """rapidfuzz's M (the longest common subsequence) is never below difflib's matching blocks, so a
    choice difflib finds close enough is close enough here too, and the pick scores at least as well."""
    ours = closest(word, choices)
    theirs = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if theirs:
        assert ours is not None
    if ours is not None:
        assert ours in choices
