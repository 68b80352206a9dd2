"""What the benchmarks share: their command lines, and which of DATA's questions they ask.

Run as scripts (``python bench/NAME.py``), they import this module from their own folder.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from qa.paths import SHARED_DIR

DEFAULT_DATA = SHARED_DIR / "eval" / "nyt_news_dev.json.gz"
T = TypeVar("T")


def archive_arguments(description: str, questions: int) -> argparse.Namespace:
    """``--archive DIR`` (a corpus ``qa eval DATA --across-articles --index-dir DIR`` built),
    ``--data`` (default nyt_news_dev) and ``--questions`` (how many to ask, default ``questions``)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--questions", type=int, default=questions)
    logging.basicConfig(level=logging.WARNING)
    return parser.parse_args()


def reader_arguments(description: str, data: Path = DEFAULT_DATA) -> argparse.Namespace:
    """``--data`` (default ``data``) and ``--reader`` (default: the shipped reader)."""
    from qa.reader import DEFAULT_READER_DIR

    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=data)
    parser.add_argument("--reader", type=Path, default=DEFAULT_READER_DIR)
    return parser.parse_args()


def every_kth(items: Sequence[T], count: int) -> list[T]:
    """``count`` items spread evenly over ``items`` (every k-th), so that every article is asked.

    >>> every_kth(range(10), 3)
    [0, 3, 6]
    """
    return list(items[:: max(1, len(items) // count)][:count])
