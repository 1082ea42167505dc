"""qm7utils.published: the table of published numbers behaves, and the book quotes it right.

These tests do not restate the table's numbers: they check what must hold for any content
(sources in the bibliography, ranges and spreads that make sense, the deck's rows with their
caveats) and that the numbers the chapters quote beside a citation are the table's.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from qm7utils.published import PUBLISHED, PublishedResult, published_table


@pytest.fixture(scope="module")
def bib_keys(root) -> set[str]:
    text = (root / "book" / "references.bib").read_text()
    return set(re.findall(r"^@\w+\{([^,]+),", text, re.M))


def test_the_table_parses_into_complete_rows():
    assert len(PUBLISHED) >= 5
    assert len({r.model for r in PUBLISHED}) == len(PUBLISHED)  # labels tell rows apart
    for r in PUBLISHED:
        assert isinstance(r, PublishedResult)
        assert isinstance(r.mae, float) and r.mae > 0, r.model
        assert r.model.strip() and r.data.strip() and r.protocol.strip() and r.note.strip()
        for flag in ("our_protocol", "cited_by_deck", "approximate"):
            assert isinstance(getattr(r, flag), bool), (r.model, flag)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PUBLISHED[0].mae = 0.0  # the published numbers cannot be edited by accident


def test_every_source_is_in_the_bibliography(bib_keys):
    for r in PUBLISHED:
        if r.citation is not None:
            assert r.citation in bib_keys, r.model
        else:  # no source: the note says so
            assert re.search(r"could not be traced|does not identify|unknown", r.note + r.data), (
                r.model
            )
        for key in re.findall(r"\b([a-z]+\d{4}[a-z]*)\b", r.note):
            assert key in bib_keys, f"{r.model}: note cites unknown key {key}"


def test_ranges_and_spreads_make_sense():
    for r in PUBLISHED:
        assert (r.low is None) == (r.high is None), r.model
        if r.low is not None:
            assert 0 < r.low <= r.mae <= r.high, r.model
            assert r.approximate, f"{r.model}: a range stands for a rounded figure"
        if r.std is not None:
            assert 0 <= r.std < r.mae, r.model
            assert f"{r.mae:g} +/- {r.std:g}" in r.note, f"{r.model}: the note quotes the spread"
        if r.our_protocol:
            assert "QM7" in r.data and re.search(r"P folds|five-fold", r.protocol), r.model


def test_deck_rows_carry_their_caveats():
    deck = [r for r in PUBLISHED if r.cited_by_deck]
    assert len(deck) == 4  # the module's premise: the deck quoted four numbers
    assert not any(r.our_protocol for r in deck)  # none is on the standard protocol
    assert any(r.citation is None for r in deck)  # the untraceable one stays, marked
    assert any("not QM7" in r.data for r in deck)  # the one of another data set, too


def test_published_table_is_the_rows_as_a_frame():
    table = published_table()
    fields = [f.name for f in dataclasses.fields(PublishedResult)]
    assert list(table.columns) == [*fields, "source"]
    assert table.model.tolist() == [r.model for r in PUBLISHED]
    assert (table.source == "published").all() and table["std"].dtype == float
    assert table["std"].isna().tolist() == [r.std is None for r in PUBLISHED]
    deck = published_table(deck_only=True)
    assert deck.model.tolist() == [r.model for r in PUBLISHED if r.cited_by_deck]


#: How a chapter quotes a published figure beside its citation: "{cite:t}`key` report(s)
#: (about) N kcal/mol", "(N, {cite:t}`key`)", "{cite:t}`key` (N)", "the N kcal/mol of
#: {cite:t}`key`".
NUMBER = r"(?P<n>\d+(?:\.\d+)?)"
CITE = r"\{cite:[tp]\}`(?P<key>[\w-]+)`"
QUOTES = [
    re.compile(CITE + r" (?:\w+ ){1,2}(?:about )?" + NUMBER + r" (?:\{term\}`)?kcal/mol"),
    re.compile(r"\(" + NUMBER + r", " + CITE + r"\)"),
    re.compile(CITE + r" \(" + NUMBER + r"\)"),
    re.compile(NUMBER + r" (?:\{term\}`)?kcal/mol`? of " + CITE),
]


def _chapter_markdown(root) -> dict[str, str]:
    texts = {}
    for path in sorted((root / "notebooks").glob("[0-9][0-9]*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        markdown = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
        texts[path.stem] = re.sub(r"\s+", " ", "\n".join(markdown))
    return texts


def test_figures_the_chapters_quote_are_the_tables(root):
    """A number quoted right beside a citation of the table must be that source's figure."""
    figures: dict[str, set[float]] = {}
    for r in PUBLISHED:
        if r.citation is not None:
            values = {r.mae, r.low, r.high, r.std} - {None}
            figures.setdefault(r.citation, set()).update(values)
    chapters = _chapter_markdown(root)
    if not chapters:
        pytest.skip("no notebooks yet")
    quoted, wrong = 0, []
    for stem, text in chapters.items():
        for pattern in QUOTES:
            for match in pattern.finditer(text):
                if match["key"] not in figures:
                    continue
                quoted += 1
                if float(match["n"]) not in figures[match["key"]]:
                    wrong.append(f"{stem}: {match.group(0)!r}, the table has "
                                 f"{sorted(figures[match['key']])}")
    assert not wrong, "\n".join(wrong)
    assert quoted >= 3, "the chapters no longer quote the table where the patterns look"
