"""squad2_dev_a split by article (issue 35): real unanswerable questions to learn "no answer" from,
and articles apart to calibrate and to measure on, never mixed.

squad2_dev_a holds 17 articles and 2,788 unanswerable questions. The split, fixed before reader v5
was trained and written into its card:

- ``train`` (10 articles, 1,804 unanswerables, 65%): reader v5 and the answer check learn from them;
- ``calibrate`` (2 articles, 251 unanswerables, 9%): the answer check's probabilities and the
  no-answer threshold are fitted here, never trained on;
- ``measure`` (5 articles, 733 unanswerables, 26%): only measured on.

>>> sorted(set(TRAIN) & set(CALIBRATE) | set(TRAIN) & set(MEASURE) | set(CALIBRATE) & set(MEASURE))
[]
>>> len(TRAIN) + len(CALIBRATE) + len(MEASURE)
17
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from qa.errors import DataError
from qa.paths import SHARED_DIR

SQUAD2_DEV_A = SHARED_DIR / "eval" / "squad2_dev_a.json.gz"

# Every third article from the third, and the last, are measured on; two of the rest calibrate.
MEASURE = ("Southern_California", "Huguenot", "Ctenophora", "Black_Death", "Pharmacy")
CALIBRATE = ("Normans", "Fresno,_California")
TRAIN = (
    "Computational_complexity_theory", "Sky_(United_Kingdom)", "Victoria_(Australia)", "Steam_engine",
    "Oxygen", "1973_oil_crisis", "European_Union_law", "Amazon_rainforest", "Packet_switching", "Geology",
)
PARTS = {"train": TRAIN, "calibrate": CALIBRATE, "measure": MEASURE}


def write_split(output_dir: Path, source: Path = SQUAD2_DEV_A) -> dict[str, Path]:
    """Write ``squad2_dev_a.<part>.json.gz`` for each part into ``output_dir`` (SQuAD 2.0 format, the
    articles as they are); DataError when ``source`` lacks an article the split names."""
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    by_title = {article["title"]: article for article in data["data"]}
    missing = [title for titles in PARTS.values() for title in titles if title not in by_title]
    if missing:
        raise DataError(f"{source} has no article {', '.join(missing)}: is it squad2_dev_a?")
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for part, titles in PARTS.items():
        paths[part] = output_dir / f"squad2_dev_a.{part}.json.gz"
        with gzip.open(paths[part], "wt", encoding="utf-8") as handle:
            json.dump({"version": data.get("version", "v2.0"), "data": [by_title[t] for t in titles]}, handle)
    return paths


def write_sample(source: Path, output: Path, questions: int, seed: int = 13) -> Path:
    """Write ``questions`` questions of the SQuAD file ``source``, drawn at random with their
    paragraphs, to ``output``: the share of SQuAD 1.1 that reader v5 reads again beside the real
    unanswerables, so that it keeps what it reads well."""
    import random

    with gzip.open(source, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    ids = [qa["id"] for article in data["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    kept = set(random.Random(seed).sample(ids, min(questions, len(ids))))
    articles = []
    for article in data["data"]:
        paragraphs = [
            {**paragraph, "qas": [qa for qa in paragraph["qas"] if qa["id"] in kept]} for paragraph in article["paragraphs"]
        ]
        paragraphs = [paragraph for paragraph in paragraphs if paragraph["qas"]]
        if paragraphs:
            articles.append({**article, "paragraphs": paragraphs})
    output.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(output, "wt", encoding="utf-8") as handle:
        json.dump({"version": data.get("version", "1.1"), "data": articles}, handle)
    return output
