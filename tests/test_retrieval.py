"""Hybrid retrieval: fusion logic with deterministic fakes, and the real embedder on the dev questions."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import KeywordEmbedder

from qa.articles import ArticleStore
from qa.backends import ONNX_INT8, TORCH, TORCH_FP32, cpu_has_native_bf16
from qa.chunking import split_sentences
from qa.config import RetrievalSettings
from qa.documents import document_from_text
from qa.embedding import Embedder
from qa.lexical import best_rows
from qa.retrieval import Retriever, reciprocal_rank_fusion, weighted_fusion


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], rrf_k=60)
    assert sorted(fused, key=fused.get, reverse=True) == [1, 3, 2]
    assert reciprocal_rank_fusion([[], []], rrf_k=60) == {}


def test_weighted_fusion_weighs_cosine_against_bm25_as_a_share_of_the_best():
    cosines, bm25 = np.array([0.9, 0.5, 0.3]), np.array([0.0, 4.0, 8.0])
    # BM25 counts as a share of the question's best score: scaling it changes nothing.
    for scale in (1.0, 10.0):
        fused = weighted_fusion(cosines, bm25 * scale, best_bm25=8.0 * scale, dense_weight=0.5)
        assert fused.tolist() == pytest.approx([0.45, 0.5, 0.65])
    assert np.argsort(-weighted_fusion(cosines, bm25, 8.0, dense_weight=1.0)).tolist() == [0, 1, 2]  # cosine alone
    assert np.argsort(-weighted_fusion(cosines, bm25, 8.0, dense_weight=0.0)).tolist() == [2, 1, 0]  # BM25 alone
    # No BM25 match at all: ranked by cosine.
    assert np.argsort(-weighted_fusion(cosines, np.zeros(3), 0.0, dense_weight=0.5)).tolist() == [0, 1, 2]


def test_best_rows_keeps_positive_scores_best_first_ties_by_row():
    assert best_rows(np.array([0.0, 3.0, 1.0, 3.0, 0.0]), k=2).tolist() == [1, 3]
    assert best_rows(np.zeros(4), k=3).tolist() == []


@pytest.fixture
def seed_index(tmp_path, seed_text):
    store = ArticleStore(tmp_path / "index", KeywordEmbedder())
    return store.load_or_build(document_from_text(seed_text, "INDUS-X"))


def test_bm25_keeps_the_articles_common_terms(seed_index):
    # "INDUS-X" is in many chunks of its own article; under BM25 variants with negative or zero
    # idf it would drop out of the query. With the Lucene idf it still ranks the chunks naming it.
    ranking = best_rows(seed_index.bm25_scores("INDUS-X"), k=20)
    assert len(ranking) and all("INDUS" in seed_index.chunks[i].text for i in ranking)
    assert not seed_index.bm25_scores("what is the").any()  # only stop words: no lexical match


def test_a_hit_is_read_as_its_chunks_sentences(seed_index):
    found = Retriever(KeywordEmbedder(), RetrievalSettings(top_k=3)).search(seed_index, "When did the roadmap get concluded?")
    assert len(found) == 3 and all(view is seed_index for view, _ in found)
    top = found[0][1]
    assert "roadmap" in top.chunk.text
    sentences = seed_index.sentences
    assert (top.context_first, top.context_last) == (top.chunk.first, top.chunk.last)
    text = seed_index.document.text
    assert top.context.of(text).startswith(sentences[top.context_first].text)
    assert top.context.document_id == seed_index.document.id
    assert top.dense_rank is not None and top.bm25_rank is not None


def test_real_retrieval_finds_the_answer_sentence_for_the_seed_questions(tmp_path, embedder, seed_text, seed_questions):
    store = ArticleStore(tmp_path / "index", embedder)
    index = store.load_or_build(document_from_text(seed_text, "INDUS-X"))
    retriever = Retriever(embedder)
    answerable = [q for q in seed_questions if q.answerable and q.category != "known miss"]
    assert len(answerable) >= 10
    misses = []
    for question in answerable:
        hits = [hit for _, hit in retriever.search(index, question.question)]
        context = " ".join(h.context.of(index.document.text) for h in hits)
        if not any(answer in context for answer in question.answers):
            misses.append(question.question)
    assert not misses, json.dumps(misses)


# (backend, how far a text's vector moves with the texts embedded beside it): torch is bf16 where
# the CPU has it natively, and pads batches; int8 quantises weights and activations, one text a run.
@pytest.mark.slow
@pytest.mark.parametrize(("backend", "batch_tolerance"), [(TORCH, 3e-3), (ONNX_INT8, 1e-6)])
def test_every_shipped_embedder_backend_ranks_like_fp32(seed_text, seed_questions, backend, batch_tolerance):
    sentences = [s.text for s in split_sentences(seed_text)]
    questions = [q.question for q in seed_questions]
    full, other = Embedder(backend=TORCH_FP32), Embedder(backend=backend)
    if backend == TORCH and not cpu_has_native_bf16():
        assert full.id == other.id  # both fp32 here
    else:
        assert full.id != other.id  # an index built by one is rebuilt for the other
    (full_sentences, full_questions), (other_sentences, other_questions) = (
        (model.embed(sentences), model.embed(questions)) for model in (full, other)
    )
    for vectors in (full_sentences, other_sentences, other_questions):
        assert vectors.dtype == np.float32 and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert (full_sentences * other_sentences).sum(axis=1).min() > 0.97
    assert other.embed_query(questions[0]) == pytest.approx(other_questions[0], abs=batch_tolerance)
    best_full = (full_questions @ full_sentences.T).argmax(axis=1)
    top3_other = np.argsort(-(other_questions @ other_sentences.T), axis=1)[:, :3]
    # fp32's best sentence among the other's top three (the hits read) for every question
    assert all(best in top3 for best, top3 in zip(best_full, top3_other))


def test_bm25_terms_with_bigrams_pair_neighbouring_terms():
    from qa.lexical import tokenize

    assert tokenize(["The Prime Minister spoke."]) == [["prime", "minist", "spoke"]]
    assert tokenize(["The Prime Minister spoke."], bigrams=True) == [
        ["prime", "minist", "spoke", "prime_minist", "minist_spoke"]
    ]


def test_a_chunk_vector_is_the_normalised_mean_of_its_sentences():
    import numpy as np

    from qa.chunking import Chunk
    from qa.embedding import chunk_vectors

    sentences = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    chunks = [Chunk("d", 0, "", 0, 0, 0, 1), Chunk("d", 1, "", 0, 0, 1, 2), Chunk("d", 2, "", 0, 0, 2, 2)]
    np.testing.assert_allclose(chunk_vectors(sentences, chunks), [[0.7071, 0.7071], [0, 1], [0, 1]], atol=1e-4)
