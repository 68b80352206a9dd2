"""Can the confidence be trusted? From the replies of ``qa eval ... --outcomes FILE`` (one file per
set), a reliability diagram (the share right of the answers given against their confidence, in ten
bins) and a risk–coverage curve (the accuracy of the answers given when the questions are answered
most confident first, at each coverage), per set and pooled; prints each set's and the pooled
expected calibration error and replies wrong at >= 90%:

    .venv/bin/qa eval ../shared/eval/nyt_news_dev.json.gz --outcomes /tmp/nyt.jsonl
    .venv/bin/qa eval ../shared/eval/saved_pages_dev.json --pages ../shared/eval/article_extraction_dev.json.gz \\
        --outcomes /tmp/pages.jsonl
    .venv/bin/qa eval ~/.cache/article-qa/runs/reader-v5/data/squad2_dev_a.measure.json.gz --gold-paragraph \\
        --outcomes /tmp/measure.jsonl
    .venv/bin/python bench/calibration.py nyt=/tmp/nyt.jsonl pages=/tmp/pages.jsonl measure=/tmp/measure.jsonl \\
        --image docs/calibration.png

Needs matplotlib (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from qa.training.evaluate import Calibration, Outcome, read_outcomes, reliability, risk_coverage


def named_file(text: str) -> tuple[str, Path]:
    name, _, path = text.rpartition("=")
    return (name or Path(path).stem), Path(path)


def draw(sets: dict[str, list[Outcome]], image: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (diagram, curve) = plt.subplots(1, 2, figsize=(11, 4.6), dpi=110)
    diagram.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfectly calibrated")
    for name, outcomes in sets.items():
        rows = reliability(outcomes)
        shown, right, count = (np.asarray(column) for column in zip(*rows))
        diagram.plot(shown, right, marker="o", linewidth=1.5 if name == "pooled" else 1,
                     label=f"{name} (ECE {Calibration.of(outcomes).error:.3f})")
        coverage, accuracy = risk_coverage(outcomes)
        line, = curve.plot(coverage, accuracy, linewidth=1.5 if name == "pooled" else 1, label=name)
        answered = sum(o.answered for o in outcomes)
        if answered:  # where the shipped threshold stops answering
            curve.plot(answered / len(outcomes), accuracy[answered - 1], marker="D", color=line.get_color())
    diagram.set(title="Reliability of the answers given", xlabel="confidence shown", ylabel="share right",
                xlim=(0, 1), ylim=(0, 1))
    curve.set(title="Risk–coverage (◆ the shipped threshold)", xlabel="coverage: share of questions answered",
              ylabel="accuracy of the answers given", xlim=(0, 1), ylim=(0, 1))
    for axes in (diagram, curve):
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(image)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outcomes", nargs="+", type=named_file, metavar="NAME=FILE", help="qa eval --outcomes files")
    parser.add_argument("--image", type=Path, default=Path("docs/calibration.png"))
    args = parser.parse_args()
    sets = {name: read_outcomes(path) for name, path in args.outcomes}
    sets["pooled"] = [o for outcomes in list(sets.values()) for o in outcomes]
    for name, outcomes in sets.items():
        answered = sum(o.answered for o in outcomes)
        print(f"{name}: {Calibration.of(outcomes).summary()}; answered {answered} of {len(outcomes)}")
    for name, outcomes in sets.items():
        coverage, accuracy = risk_coverage(outcomes)
        points = "  ".join(f"{c:.0%}: {accuracy[max(round(c * len(coverage)), 1) - 1]:.3f}"
                           for c in (0.25, 0.5, 0.75, 1.0))
        print(f"{name} accuracy at coverage  {points}")
    draw(sets, args.image)
    print(f"drawn to {args.image}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
