"""Importing gradio without the half of its import time that rewrites its own type stubs.

Every time gradio is imported, each component class it defines (81 of them in gradio 6.31) parses
its own module's source with ``ast`` and rewrites the ``.pyi`` stub beside it in site-packages
(``gradio.component_meta.create_or_modify_pyi``): work for gradio's developers' type checkers,
done at every start of every app. On this 2-core CPU it is 2.9 of ``import gradio``'s 6.1 s.
``skipping_stub_writing`` lets gradio's ``component_meta`` module load as it is, then replaces
that one function with a no-op before any component class is created. With a gradio that no
longer has the function, nothing is replaced and gradio imports as usual.

>>> with skipping_stub_writing():
...     import gradio as gr
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Iterator
from contextlib import contextmanager

STUB_WRITER_MODULE = "gradio.component_meta"
STUB_WRITER = "create_or_modify_pyi"


def _write_no_stub(*args: object, **kwargs: object) -> None:
    """Stands in for gradio's stub writer: the installed stubs stay as gradio shipped them."""


class _StubWriterRemover(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta as Python would, and loads it with its stub writer replaced."""

    def find_spec(self, name, path, target=None):
        if name != STUB_WRITER_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module) -> None:
            load(module)
            if hasattr(module, STUB_WRITER):
                setattr(module, STUB_WRITER, _write_no_stub)

        spec.loader.exec_module = exec_module
        return spec


@contextmanager
def skipping_stub_writing() -> Iterator[None]:
    """Within the block, gradio is imported without writing its stubs (a no-op if it already was)."""
    finder = _StubWriterRemover()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
