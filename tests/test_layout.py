"""The runtime never imports the training code, and `import qa` stays cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest


def modules_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


@pytest.mark.slow  # a fresh interpreter
def test_the_runtime_imports_nothing_of_training():
    loaded = modules_after("import qa, qa.pipeline, qa.reader, qa.decoding, qa.cli; qa.cli.build_parser()")
    assert "qa.pipeline" in loaded
    assert not {m for m in loaded if m.startswith("qa.training")}
    assert not {"spacy", "lemminflect"} & loaded


@pytest.mark.slow  # a fresh interpreter
def test_import_qa_loads_no_model_library():
    loaded = modules_after("import qa")
    assert not {"torch", "transformers", "faiss", "sentence_transformers"} & loaded


@pytest.mark.slow
def test_answering_on_the_default_backend_imports_no_torch(tmp_path):
    # The serving path (ONNX Runtime) answers without torch, transformers or sentence-transformers:
    # they cost a second of start-up and hundreds of MB.
    loaded = modules_after(
        f"import os; os.environ['QA_INDEX_DIR'] = {str(tmp_path)!r}; import ui; from qa import ask; "
        "assert ask('What does INDUS-X aim at?').answerable"
    )
    assert "onnxruntime" in loaded and "gradio" in loaded
    assert not {"torch", "transformers", "sentence_transformers"} & loaded
