"""Every keyword of the language has its documentation in steerdsl.lang.docs (what an
editor shows on hover and completion), so a new setting cannot be added without it."""

from __future__ import annotations

import pytest

from steerdsl.lang import docs, keywords
from steerdsl.lang.grammar import BLOCK_KEYWORDS, all_keywords


def test_every_block_kind_is_documented():
    assert set(docs.BLOCKS) == set(BLOCK_KEYWORDS)


@pytest.mark.parametrize("table", sorted(keywords.TABLES))
def test_every_keyword_setting_is_documented_where_it_is_written(table):
    missing = [k for k in keywords.TABLES[table] if docs.setting_doc(table, k) is None]
    assert not missing, f"add to steerdsl.lang.docs.SETTINGS[{table!r}]: {missing}"


def test_every_word_of_the_grammar_is_documented_or_a_value():
    documented = set(docs.BLOCKS).union(*docs.SETTINGS.values()) | docs.VALUE_WORDS
    missing = sorted(all_keywords() - documented)
    assert not missing, f"add to steerdsl.lang.docs (SETTINGS or VALUE_WORDS): {missing}"


def test_parts_are_settings_of_their_block():
    for part, block in docs.PARTS.items():
        assert part in docs.SETTINGS and part in docs.SETTINGS[block]


def test_every_word_value_of_a_setting_is_a_value():
    from steerdsl.lang.rules import Word

    words = {w for table in keywords.TABLES.values() for kw in table.values()
             if isinstance(kw.rule, Word) for w, _ in kw.rule.values}
    assert words <= docs.VALUES
