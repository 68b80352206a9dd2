"""Where the project's files live: the shared data beside a checkout, the index store and the
training runs (the user's cache folder)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Training and evaluation data are read from ../shared (never copied into the repo).
SHARED_DIR = Path(os.environ.get("QA_SHARED_DIR", REPO_ROOT.parent / "shared"))


def default_index_dir() -> Path:
    """Where article indexes persist: ``$QA_INDEX_DIR``, else ``index/`` in the user's cache folder
    (so that an installed package works from any folder)."""
    if "QA_INDEX_DIR" in os.environ:
        return Path(os.environ["QA_INDEX_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("article-qa")) / "index"


def default_runs_dir() -> Path:
    """Where training runs live, outside any work tree so that a run outlives a checkout:
    ``$QA_RUNS_DIR``, else ``runs/`` in the user's cache folder."""
    if "QA_RUNS_DIR" in os.environ:
        return Path(os.environ["QA_RUNS_DIR"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("article-qa")) / "runs"
