"""BM25's terms and ranking helpers, shared by an article's retriever and the archive.

>>> tokenize(["What did the Prime Minister say?"])
[['prime', 'minist', 'say']]
"""

from __future__ import annotations

import logging

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

# bm25s logs every index build at DEBUG on its own logger; one per question is noise.
logging.getLogger("bm25s").setLevel(logging.WARNING)

# Question words carry no topic; the reader, not BM25, cares about them.
_STOPWORDS = sorted(set(STOPWORDS_EN) | {"what", "who", "whom", "whose", "when", "where", "why", "how", "which", "did", "does", "do"})
_STEMMER = Stemmer.Stemmer("english")


def tokenize(texts: list[str], bigrams: bool = False) -> list[list[str]]:
    """BM25 terms: stemmed words less stop words, and with ``bigrams`` each pair of neighbouring
    terms too ("prime minist" "minist modi" → "prime_minist" ...), which names and phrases need
    among many articles.

    >>> tokenize(["The Prime Minister spoke."], bigrams=True)
    [['prime', 'minist', 'spoke', 'prime_minist', 'minist_spoke']]
    """
    tokens = bm25s.tokenize(texts, stopwords=_STOPWORDS, stemmer=_STEMMER, show_progress=False, return_ids=False)
    if bigrams:
        return [terms + [f"{a}_{b}" for a, b in zip(terms, terms[1:])] for terms in tokens]
    return tokens


def build_bm25(texts: list[str]) -> bm25s.BM25 | None:
    """A BM25 index of ``texts`` (an article's chunks); None when none has a term that isn't a stop
    word ("It is what it is."): such an article is searched by meaning alone."""
    tokens = tokenize(texts)
    if not any(tokens):
        return None
    bm25 = bm25s.BM25(method="lucene")
    bm25.index(tokens, show_progress=False)
    return bm25


def bm25_scores_of(bm25: bm25s.BM25 | None, query: str, rows: int) -> np.ndarray:
    """Each of the ``rows`` texts' BM25 score for ``query`` (0 where it shares no term)."""
    terms = bm25.get_tokens_ids(tokenize([query])[0]) if bm25 is not None else []
    if not terms:
        return np.zeros(rows, dtype=np.float32)
    return np.asarray(bm25.get_scores_from_ids(terms), dtype=np.float32)


def best_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest positive ``scores``, best first, ties by row.

    >>> best_rows(np.array([0.0, 2.0, 1.0, 2.0]), k=5).tolist()
    [1, 3, 2]
    """
    matched = np.flatnonzero(scores > 0)
    return matched[np.lexsort((matched, -scores[matched]))][:k]
