"""qm7utils.published: the published numbers of the closing comparison."""

from __future__ import annotations

import math
import re

from qm7utils.published import PUBLISHED, published_table


def test_every_citation_is_in_the_bibliography(root):
    keys = set(re.findall(r"^@\w+\{([^,]+),", (root / "book" / "references.bib").read_text(),
                          re.M))
    for result in PUBLISHED:
        if result.citation is not None:
            assert result.citation in keys, result.model
        for key in re.findall(r"\b([a-z]+\d{4}[a-z]*)\b", result.note):
            assert key in keys, f"{result.model}: note cites unknown key {key}"


def test_the_decks_four_numbers_are_kept_with_their_caveats():
    deck = published_table(deck_only=True)
    assert sorted(deck.mae) == [8.56, 10.0, 13.18, 41.81]
    assert not deck.our_protocol.any()  # none of them is on the standard protocol
    untraceable = deck[deck.citation.isna()]
    assert set(untraceable.mae) == {13.18, 8.56}
    assert "not QM7" in deck.set_index("mae").loc[41.81, "data"]


def test_table_is_consistent():
    table = published_table()
    assert len(table) == len(PUBLISHED) and (table.source == "published").all()
    spread = table.dropna(subset=["std"])  # only sources that print a spread have one
    assert spread.model.tolist() == ["Graph network MXMNet (kgcnn 2.1.1)"]
    assert (spread.mae.iloc[0], spread["std"].iloc[0]) == (1.11, 0.08)
    assert "1.24 +/- 0.08" in spread.note.iloc[0]  # the later kgcnn release, quoted too
    for r in PUBLISHED:
        assert r.mae > 0 and r.note and r.protocol
        if r.low is not None:
            assert r.low <= r.mae <= r.high and r.approximate
        if r.our_protocol:
            assert "QM7" in r.data
    best = min(r.mae for r in PUBLISHED if r.our_protocol and "Collins" in r.model)
    assert math.isclose(best, 1.19)
