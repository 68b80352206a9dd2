"""gradio imported without rewriting its type stubs (qa/gradio_startup.py)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from qa import gradio_startup


@pytest.fixture
def stub_module(tmp_path, monkeypatch):
    """A stand-in for gradio.component_meta: creating a "component" calls its stub writer."""
    (tmp_path / "fake_component_meta.py").write_text(
        "calls = []\n"
        "def create_or_modify_pyi(*args):\n"
        "    calls.append(args)\n"
        "    return 'written'\n"
        "def make_component(name):\n"
        "    return create_or_modify_pyi(name)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(gradio_startup, "STUB_WRITER_MODULE", "fake_component_meta")
    yield "fake_component_meta"
    sys.modules.pop("fake_component_meta", None)


def test_the_stub_writer_is_replaced_before_any_component_is_made(stub_module):
    finders = list(sys.meta_path)
    with gradio_startup.skipping_stub_writing():
        module = importlib.import_module(stub_module)
    assert sys.meta_path == finders  # the finder is gone after the block
    assert module.make_component("Textbox") is None and module.calls == []


def test_without_the_block_the_module_is_untouched(stub_module):
    module = importlib.import_module(stub_module)
    assert module.make_component("Textbox") == "written" and module.calls == [("Textbox",)]


def test_a_module_without_the_stub_writer_imports_as_usual(stub_module, tmp_path):
    (tmp_path / "fake_component_meta.py").write_text("VALUE = 1\n")
    with gradio_startup.skipping_stub_writing():
        assert importlib.import_module(stub_module).VALUE == 1


@pytest.mark.slow
def test_the_page_imports_gradio_without_writing_its_stubs():
    # In a new process, as `qa serve` starts: gradio works, its stub writer is ours, and no stub file
    # in site-packages changes.
    code = """
import pathlib, gradio_client, importlib.util
root = pathlib.Path(importlib.util.find_spec("gradio").origin).parent
before = {p: p.stat().st_mtime_ns for p in root.rglob("*.pyi")}
import ui, gradio, gradio.component_meta as meta
assert meta.create_or_modify_pyi.__module__ == "qa.gradio_startup", meta.create_or_modify_pyi
assert gradio.Textbox(label="q").label == "q"
assert before and before == {p: p.stat().st_mtime_ns for p in root.rglob("*.pyi")}
"""
    subprocess.run([sys.executable, "-c", code], check=True)
