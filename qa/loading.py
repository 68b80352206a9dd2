"""Loading the packaged models quietly.

transformers 5 prints a per-tensor progress bar and a "LOAD REPORT" warning for every model it
loads. For our two fixed, known models both are noise: the embedder's only report line is the
legacy ``position_ids`` buffer that newer BERT code no longer keeps. Real errors still raise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_model_loading() -> Iterator[None]:
    """Silence transformers' load-time progress bars and warnings inside the block, then restore."""
    from transformers.utils import logging as transformers_logging

    verbosity = transformers_logging.get_verbosity()
    bars_were_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars_were_enabled:
            transformers_logging.enable_progress_bar()

