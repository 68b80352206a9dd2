"""Span decoding on fixed logits, and boundary cleaning on fixed text: no model involved."""

from __future__ import annotations

import numpy as np
import pytest

from qa.decoding import clean_boundaries, decode_spans

# "[CLS] who ? [SEP] The quick brown fox [SEP]": the context words and their characters.
CONTEXT = "The quick brown fox"
WORDS = [None, None, None, None, (0, 3), (4, 9), (10, 15), (16, 19), None]


def logits(**at: float) -> np.ndarray:
    """A window's logits: -10 everywhere but the token positions given as p<i>=value."""
    values = np.full(len(WORDS), -10.0)
    for name, value in at.items():
        values[int(name[1:])] = value
    return values


def decode(starts, ends, **settings):
    return decode_spans(starts, ends, WORDS, **{"top_k_tokens": 20, "max_answer_tokens": 30, **settings})


def test_best_span_pairs_the_best_start_with_the_best_end_after_it():
    spans, no_answer = decode(logits(p0=1.0, p5=6.0), logits(p0=2.0, p6=5.0))
    assert max(spans, key=spans.get) == (4, 15)
    assert spans[4, 15] == pytest.approx(11.0)
    assert no_answer == pytest.approx(3.0)


def test_an_end_before_its_start_is_never_a_span():
    spans, _ = decode(logits(p6=9.0), logits(p4=9.0))
    assert (10, 3) not in spans
    assert all(start < end for start, end in spans)
    assert max(spans, key=spans.get) != (0, 3)


def test_spans_longer_than_the_limit_are_dropped():
    spans, _ = decode(logits(p4=5.0), logits(p7=5.0), max_answer_tokens=3)
    assert (0, 19) not in spans
    assert (0, 19) in decode(logits(p4=5.0), logits(p7=5.0), max_answer_tokens=4)[0]


def test_only_context_tokens_start_or_end_a_span():
    # The question tokens (1, 2) carry the highest logits, yet no span starts there.
    spans, _ = decode(logits(p1=20.0, p5=1.0), logits(p2=20.0, p5=1.0))
    assert max(spans, key=spans.get) == (4, 9)


def test_sub_word_tokens_give_whole_words_and_keep_the_best_score():
    # "brownish" cut into "brown" + "##ish": both tokens belong to the word (10, 18).
    words = [None, (0, 9), (10, 18), (10, 18)]
    spans, _ = decode_spans(
        np.array([0.0, 0.0, 4.0, 3.0]), np.array([0.0, 0.0, 1.0, 2.0]), words,
        top_k_tokens=5, max_answer_tokens=5,
    )
    assert spans[10, 18] == pytest.approx(6.0)


def test_a_window_without_context_has_no_spans():
    spans, no_answer = decode_spans(np.array([1.0, 0.0]), np.array([1.0, 0.0]), [None, None],
                                    top_k_tokens=5, max_answer_tokens=5)
    assert spans == {} and no_answer == 2.0


def cleaned(text: str, span: str) -> str | None:
    start = text.index(span)
    result = clean_boundaries(text, start, start + len(span))
    return None if result is None else text[result[0] : result[1]]


@pytest.mark.parametrize(
    ("text", "span", "clean"),
    [
        # Trailing comma or quote of a quotation the span does not open.
        ('He called it "a bridge," and left.', 'a bridge,"', "a bridge"),
        ("They met Austin, the secretary.", "Austin,", "Austin"),
        ("(Reuters) said it.", "(Reuters", "Reuters"),
        # A quotation the span stops just short of (or starts just inside): its partner is taken in.
        ('Her new album, “Rebel Heart” leaked.', "new album, “Rebel Heart", "new album, “Rebel Heart”"),
        ("in her “old-fashioned” way", "old-fashioned” way", "“old-fashioned” way"),
        ('He said “Putin is aggressive,” and left.', "“Putin is aggressive", "Putin is aggressive"),
        # Crossing into a long quotation: keep the side with more words.
        ('Llyod Austin said, "We discussed an important new initiative today".', 'Llyod Austin said, "We',
         "Llyod Austin said"),
        # Never past the sentence for a partner.
        ("A “deal. It was “over” then.", "“deal", "deal"),
        # A clause after the answer.
        ("It ended on Sunday, when the talks began.", "Sunday, when the talks began", "Sunday"),
        ("The deal, which India signed, stands.", "The deal, which India signed", "The deal"),
        # Lists and balanced quotes stay whole.
        ("Drones, jets and ships were listed.", "Drones, jets and ships", "Drones, jets and ships"),
        ('The film "Jaws" won.', 'The film "Jaws"', 'The film "Jaws"'),
        ("In 2016, the US named India a partner.", "2016", "2016"),
        ("The U.S. agreed.", "The U.S.", "The U.S."),
        # Nothing left.
        ("A , B", ",", None),
    ],
)
def test_clean_boundaries(text, span, clean):
    assert cleaned(text, span) == clean


def test_a_whole_quotation_loses_its_quotes_and_inner_comma():
    text = 'He called it "a bridge," today.'
    assert cleaned(text, '"a bridge,"') == "a bridge"


def test_a_span_that_closes_one_quotation_and_opens_another_keeps_one_side():
    text = 'Austin said "we are not only sharing technology", then added "and we cooperate alongside each other".'
    start, end = text.index("technology"), text.index("we cooperate") + len("we cooperate")
    clean = clean_boundaries(text, start, end)
    assert clean is not None
    assert text[slice(*clean)] == "and we cooperate"  # the side with the most words, no quote
    titles = 'She starred in "Phantom," "Superstar" and "Cats" on Broadway.'
    start, end = titles.index("Phantom"), titles.index("Cats") + len("Cats")
    assert titles[slice(*clean_boundaries(titles, start, end))] == '"Phantom," "Superstar" and "Cats"'
