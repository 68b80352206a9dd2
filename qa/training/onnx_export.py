"""Export the reader and the embedder to ONNX for the torch-free backends (``qa.backends``).

    qa export-onnx                      # the shipped reader and the installed embedder
    qa export-onnx --reader DIR --fp32  # also keep the fp32 graphs (90 MB each; not shipped)

Graphs come from ``torch.onnx.export`` (the dynamo exporter, with dynamic batch and sequence
axes), then ONNX Runtime's dynamic quantisation turns the weights into int8, per output channel (and
the activations, per run, at run time). The embedder's graph includes its mean pooling, so a
batch of vectors is one ``session.run``.

The reader keeps its feed-forward output projections (the MatMul after each GELU, 6 of its 37
weight matrices) in fp32, and its embedding tables in fp16. Quantised whole, it lost 0.64 F1 on
nyt_news_dev (75.02 against 75.66 for bf16 torch) and 3.7 on indus_x_dev (92.74 against 96.44);
with those in fp32, 75.66 and 96.44. Those projections carried the largest share of the logits'
quantisation error. The embedder is quantised whole: end to end it scores the same as in bf16
(nyt_news_dev F1 75.75 with the bf16 reader).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import shutil
import tempfile
from pathlib import Path

import torch

from qa.backends import (
    EMBEDDER_ONNX_DIR,
    EMBEDDER_PACKAGE,
    ONNX_FILES,
    ONNX_FP32,
    ONNX_INT8,
    ONNX_SUBDIR,
    embedder_model_dir,
)
from qa.loading import quiet_model_loading

logger = logging.getLogger(__name__)

INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
# Any batch of any length up to BERT's 512 positions; traced on a small one.
EXAMPLE_SHAPE = (2, 16)


class _QuestionAnswering(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        output = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        return output.start_logits, output.end_logits


class _MeanPooledEncoder(torch.nn.Module):
    """BERT's token states averaged over the attention mask: sentence-transformers' Pooling
    (mode "mean") for all-MiniLM-L6-v2; normalising is left to ``qa.embedding``."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        output = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
        states = output[0]
        mask = attention_mask.unsqueeze(-1).to(states.dtype)
        return (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def _after_gelu(graph_path: Path) -> list[str]:
    """The MatMul nodes whose input is a GELU's output: BERT's feed-forward output projections."""
    import onnx

    graph = onnx.load(str(graph_path), load_external_data=False).graph
    gelu_outputs = {output for node in graph.node if node.op_type == "Gelu" for output in node.output}
    return [node.name for node in graph.node if node.op_type == "MatMul" and node.input[0] in gelu_outputs]


def _tables_in_fp16(graph_path: Path) -> None:
    """Store the embedding tables (weights read only by Gather nodes) in fp16, each Gather's rows
    cast back to fp32: the reader's graph goes from 70 to 47 MB (its 30,522-word table alone was
    47 MB in fp32), and the rows a window looks up lose nothing that matters (fp16 keeps 11 bits;
    nyt_news_dev and indus_x_dev F1 unchanged)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(graph_path))
    graph = model.graph
    readers: dict[str, set[str]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, set()).add(node.op_type)
    tables = {
        weight.name: weight
        for weight in graph.initializer
        if weight.data_type == TensorProto.FLOAT and readers.get(weight.name) == {"Gather"}
    }
    nodes = []
    for node in graph.node:
        nodes.append(node)
        if node.op_type == "Gather" and node.input[0] in tables:
            rows = node.output[0]
            node.output[0] = f"{rows}_fp16"
            nodes.append(helper.make_node("Cast", [node.output[0]], [rows], name=f"{node.name}_fp32", to=TensorProto.FLOAT))
    for weight in tables.values():
        weight.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(weight).astype(np.float16), weight.name))
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(graph_path))


def _export(
    module: torch.nn.Module, output_names: list[str], destination: Path, keep_fp32: bool, whole: bool
) -> None:
    """Write ``destination/model.int8.onnx`` (and ``model.onnx``, with its weights beside it, when
    ``keep_fp32``): every weight in int8 when ``whole``, else the MatMul weights but those after a
    GELU."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    destination.mkdir(parents=True, exist_ok=True)
    example = {name: torch.ones(EXAMPLE_SHAPE, dtype=torch.long) for name in INPUT_NAMES}
    example["token_type_ids"] = torch.zeros(EXAMPLE_SHAPE, dtype=torch.long)
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
    with tempfile.TemporaryDirectory() as work:
        fp32 = Path(work) / ONNX_FILES[ONNX_FP32]
        torch.onnx.export(
            module.eval(),
            (),
            str(fp32),
            kwargs=example,
            input_names=INPUT_NAMES,
            output_names=output_names,
            dynamic_shapes={name: {0: batch, 1: sequence} for name in INPUT_NAMES},
            dynamo=True,
            optimize=True,
            verbose=False,
        )
        partial = {} if whole else {
            "op_types_to_quantize": ["MatMul"],
            "nodes_to_exclude": _after_gelu(fp32),
            "extra_options": {"MatMulConstBOnly": True},
        }
        quantize_dynamic(
            fp32, destination / ONNX_FILES[ONNX_INT8], weight_type=QuantType.QInt8, per_channel=True,
            **partial,
        )
        if not whole:  # quantised whole, the tables are int8 already
            _tables_in_fp16(destination / ONNX_FILES[ONNX_INT8])
        if keep_fp32:
            for path in Path(work).iterdir():  # the graph and its external weights file
                shutil.copy2(path, destination / path.name)
    logger.info("exported %s", destination)


def export_reader_onnx(model_dir: Path, keep_fp32: bool = False) -> Path:
    """The reader in ``model_dir`` as ONNX graphs in ``model_dir/onnx/``."""
    from transformers import AutoModelForQuestionAnswering

    with quiet_model_loading():
        model = AutoModelForQuestionAnswering.from_pretrained(model_dir, dtype=torch.float32)
    destination = Path(model_dir) / ONNX_SUBDIR
    _export(_QuestionAnswering(model), ["start_logits", "end_logits"], destination, keep_fp32, whole=False)
    return destination


def export_embedder_onnx(destination: Path = EMBEDDER_ONNX_DIR, keep_fp32: bool = False) -> Path:
    """The installed embedder package's model as ONNX graphs in ``destination``, with a
    ``source.json`` naming the package version it came from."""
    from transformers import AutoModel

    with quiet_model_loading():
        model = AutoModel.from_pretrained(embedder_model_dir(), dtype=torch.float32)
    _export(_MeanPooledEncoder(model), ["sentence_embedding"], Path(destination), keep_fp32, whole=True)
    package = f"{EMBEDDER_PACKAGE}=={importlib.metadata.version(EMBEDDER_PACKAGE)}"
    source = {"package": package, "pooling": "mean"}
    (Path(destination) / "source.json").write_text(json.dumps(source, indent=2) + "\n")
    return Path(destination)
