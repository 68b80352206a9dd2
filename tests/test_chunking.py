"""Sentence segmentation of news text, with exact offsets, and sentence windows."""

from __future__ import annotations

import pytest

from qa.chunking import chunk_text, sliding_windows, split_sentences
from qa.config import ChunkingConfig


def texts(text: str) -> list[str]:
    sentences = split_sentences(text)
    assert all(text[s.start : s.end] == s.text for s in sentences), "offsets must slice the source"
    return [s.text for s in sentences]


def test_seed_article_sentences(seed_text):
    sentences = texts(seed_text)
    assert len(sentences) == 19
    # The dateline stays with its sentence; "Lloyd J Austin III" and "PM Modi" don't split.
    assert sentences[0].startswith("New Delhi: In a new thrust")
    assert sentences[1] == (
        "INDUS-X is focused on advancing high-tech cooperation and exploring opportunities for joint "
        "research, development and production in the defence sector."
    )
    assert any("Lloyd J Austin III today discussed" in s for s in sentences)
    # A tweet quoted over two sentences stays one unit with its attribution.
    assert any(s.startswith("Meanwhile, taking to Twitter") and s.endswith("partnership\".") for s in sentences)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("WASHINGTON — The Senate voted on Tuesday. The bill goes to the House.",
         ["WASHINGTON — The Senate voted on Tuesday.", "The bill goes to the House."]),
        ("Sec. Def. Lloyd J. Austin III met PM Modi on Monday. They spoke.",
         ["Sec. Def. Lloyd J. Austin III met PM Modi on Monday.", "They spoke."]),
        ("Gen. Mark A. Milley and Lt. Col. Smith spoke. Dr. Jones, of the U.S. Army, agreed.",
         ["Gen. Mark A. Milley and Lt. Col. Smith spoke.", "Dr. Jones, of the U.S. Army, agreed."]),
        ('"We are ready. We will go," he said. Then he left.',
         ['"We are ready. We will go," he said.', "Then he left."]),
        ("It was 5 p.m. when the U.N. Security Council met. The vote failed.",
         ["It was 5 p.m. when the U.N. Security Council met.", "The vote failed."]),
        ("Aid rose to $3.5 bn. in March, officials said. More is due.",
         ["Aid rose to $3.5 bn. in March, officials said.", "More is due."]),
        ("The plan has three parts:\n- more ships;\n- more planes.\nIt starts in 2025.",
         ["The plan has three parts:", "- more ships;", "- more planes.", "It starts in 2025."]),
        ("This line is hard\nwrapped mid-sentence. Next one.",
         ["This line is hard\nwrapped mid-sentence.", "Next one."]),
        ("", []),
        ("   \n\n  ", []),
    ],
)
def test_news_text(text, expected):
    assert texts(text) == expected


def test_sliding_windows_cover_every_sentence_with_overlap():
    text = "One. Two. Three. Four. Five."
    windows = sliding_windows(text, split_sentences(text), size=2, overlap=1)
    assert [w.text for w in windows] == ["One. Two.", "Two. Three.", "Three. Four.", "Four. Five."]
    windows = sliding_windows(text, split_sentences(text), size=3, overlap=1)
    assert [(w.first, w.last) for w in windows] == [(0, 2), (2, 4)]
    assert all(text[w.start : w.end] == w.text for w in windows)


def test_chunks_follow_the_config(seed_text):
    sentences, chunks = chunk_text("seed", seed_text, ChunkingConfig(window_sentences=3, overlap_sentences=1))
    assert len(sentences) == 19
    assert all(c.last - c.first + 1 <= 3 for c in chunks)
    assert chunks[-1].last == len(sentences) - 1
    assert all(seed_text[c.start : c.end] == c.text for c in chunks)
    with pytest.raises(ValueError):
        ChunkingConfig(window_sentences=2, overlap_sentences=2)
