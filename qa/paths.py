"""Where the project's files live: the repo, the shared data beside it, the index store."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Training and evaluation data are read from ../shared (never copied into the repo).
SHARED_DIR = Path(os.environ.get("QA_SHARED_DIR", REPO_ROOT.parent / "shared"))


def default_index_dir() -> Path:
    """Where article indexes persist: ``$QA_INDEX_DIR``, else ``index/`` at the repo root."""
    return Path(os.environ.get("QA_INDEX_DIR", REPO_ROOT / "index"))
