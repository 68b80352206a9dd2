"""The training and evaluation subcommands of ``qa`` (eval, train, generate-unanswerable,
generate-conversations, export-reader, export-onnx, train-article-questions): ``qa.cli`` builds their options and calls
these handlers only when such a command runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def evaluate(args: argparse.Namespace) -> int:
    from qa.reader import Reader

    reader = Reader(args.reader)
    if args.shapes:
        report, outcomes = _shapes(args, reader), None
    elif args.pages:
        report = _saved_pages(args, reader)
        outcomes = report.outcomes
    else:
        from qa.training.squad import load_articles

        articles = load_articles(args.data)
        if args.limit:
            articles = articles[: args.limit]
        mode = _gold_paragraph if args.gold_paragraph else _across_articles if args.across_articles else _whole_articles
        report = mode(args, reader, articles)
        outcomes = report.outcomes
    if args.predictions:
        predictions = report.replies if args.shapes else report.predictions
        args.predictions.write_text(json.dumps(predictions, indent=1, ensure_ascii=False) + "\n")
        print(f"predictions written to {args.predictions}")
    if args.outcomes and outcomes is not None:
        from qa.training.evaluate import write_outcomes

        write_outcomes(args.outcomes, outcomes)
        print(f"each reply's confidence and whether it is right written to {args.outcomes} (bench/calibration.py draws them)")
    return 0


def _gold_paragraph(args: argparse.Namespace, reader, articles):
    import time

    from qa.answer_check import AnswerCheck, Evidence
    from qa.reading import distinct_spans
    from qa.training.evaluate import gold_paragraph_report, guess_gold_paragraph, question_groups
    from qa.training.squad import score_predictions

    questions = [q for a in articles for _, qs in a.paragraphs for q in qs]
    check, threshold = AnswerCheck(), reader.settings.no_answer_threshold

    def judge(question: str, spans: list) -> float:
        return check.chance_right(Evidence(question, distinct_spans(spans), spans, threshold))

    began = time.perf_counter()
    guesses = guess_gold_paragraph(reader, questions, judge=judge)
    seconds = time.perf_counter() - began
    alone = gold_paragraph_report(questions, guesses, threshold, seconds)
    print(f"the reader alone, at its no-answer threshold {threshold:.3f}:\n{alone.scores.summary()}\n{alone.calibration()}")
    report = gold_paragraph_report(questions, guesses, check.threshold, seconds, checked=True, reader_threshold=threshold)
    print(f"\nwith the answer check (as the chatbot answers), at {check.threshold:.3f}:")
    print(f"{report.scores.summary()}\n{report.calibration()}\n{report.questions_per_second:.1f} questions/s")
    for name, group in question_groups(articles).items():
        print(f"\n{name}:\n{score_predictions(group, report.predictions).summary()}")
    return report


def _across_articles(args: argparse.Namespace, reader, articles):
    import tempfile

    from qa.pipeline import Assistant
    from qa.training.end_to_end import distractor_documents, evaluate_across_articles
    from qa.training.squad import load_articles

    distractors = distractor_documents([a for path in args.distractors for a in load_articles(path)])
    with tempfile.TemporaryDirectory(prefix="qa-eval-corpus-") as scratch:
        index_dir = args.index_dir or Path(scratch)
        assistant = Assistant(index_dir / "articles", reader=reader)

        def across(conversation: bool):
            return evaluate_across_articles(
                articles, distractors, assistant, index_dir,
                workers=args.workers, ray_address=args.ray_address, conversation=conversation,
            )

        if args.conversation:
            print(f"each question asked alone:\n{across(False).summary()}\n\nin conversation, with the gold history:")
        report = across(args.conversation)
    print(report.summary())
    return report.end_to_end


def _whole_articles(args: argparse.Namespace, reader, articles):
    from qa.pipeline import Assistant
    from qa.training.end_to_end import evaluate_end_to_end

    def assistant(index_dir):
        return Assistant(index_dir, reader=reader)

    if args.conversation:  # the same questions alone first, so the gain shows in one run
        alone = evaluate_end_to_end(articles, assistant)
        print(f"each question asked alone:\n{alone.summary()}\n\nin conversation, with the gold history:")
    report = evaluate_end_to_end(articles, assistant, conversation=args.conversation)
    print(report.summary())
    return report


def _saved_pages(args: argparse.Namespace, reader):
    from qa.training.saved_pages import evaluate_saved_pages

    return _with_scratch_assistant(reader, lambda assistant: evaluate_saved_pages(args.data, args.pages, assistant))


def _shapes(args: argparse.Namespace, reader):
    from qa.training.chat_shapes import evaluate_shapes

    return _with_scratch_assistant(reader, lambda assistant: evaluate_shapes(args.data, assistant))


def _with_scratch_assistant(reader, evaluate):
    """``evaluate(assistant)`` with an assistant whose indexes go when it is done; its report printed."""
    import tempfile

    from qa.pipeline import Assistant

    with tempfile.TemporaryDirectory(prefix="qa-eval-index-") as index_dir:
        report = evaluate(Assistant(Path(index_dir), reader=reader))
    print(report.summary())
    return report


def _options(args: argparse.Namespace, fields) -> dict:
    """The options given on the command line that name ``fields``; the others keep their defaults
    (the training subcommands' options default to SUPPRESS, so the defaults live in one place)."""
    return {name: value for name, value in vars(args).items() if name in fields}


def train_command(args: argparse.Namespace) -> int:
    from qa.training.runs import read_status
    from qa.training.train import TrainConfig, train

    options = _options(args, TrainConfig.__dataclass_fields__)
    config = TrainConfig(**options)
    if getattr(args, "status", False):
        status = read_status(config.output_dir)
        if status is None:
            print(f"no training run in {config.output_dir}")
            return 1
        print(json.dumps(status, indent=2))
        return 0
    print(f"best checkpoint: {train(config)}")
    return 0


def generate_conversations(args: argparse.Namespace) -> int:
    import inspect

    from qa.training.conversations import generate_file

    path = generate_file(**_options(args, inspect.signature(generate_file).parameters))
    print(f"follow-up questions written to {path}")
    return 0


def generate_unanswerable(args: argparse.Namespace) -> int:
    import inspect

    from qa.training.unanswerable import generate_files

    train_path, aside_path = generate_files(**_options(args, inspect.signature(generate_files).parameters))
    print(f"unanswerable questions written to {train_path} (to train) and {aside_path} (held aside)")
    return 0


def export_reader(args: argparse.Namespace) -> int:
    from qa.training.export import DEFAULT_CALIBRATION_DATA, export_reader

    options = {"held_aside": None, **vars(args)}
    calibration = export_reader(
        args.checkpoint, args.destination, options.get("calibration_data", DEFAULT_CALIBRATION_DATA), options["held_aside"],
        start_weight=options.get("average_with_start", 0.0),
    )
    print(f"reader written to {args.destination}; no-answer threshold {calibration.threshold:.3f}")
    print("held-out half of the calibration data:")
    print(calibration.held_out.summary())
    return 0


def split_squad2_dev(args: argparse.Namespace) -> int:
    from qa.training.squad import SQUAD1_TRAIN
    from qa.training.squad2_split import write_sample, write_split

    for part, path in write_split(args.output_dir).items():
        print(f"{part}: {path}")
    if getattr(args, "squad1_sample", None):
        print(f"SQuAD 1.1 sample: {write_sample(SQUAD1_TRAIN, args.output_dir / 'squad1_sample.json.gz', args.squad1_sample)}")
    return 0


def export_onnx(args: argparse.Namespace) -> int:
    from qa.training.onnx_export import export_embedder_onnx, export_reader_onnx

    print(f"reader graphs written to {export_reader_onnx(args.reader, keep_fp32=args.fp32)}")
    if not args.no_embedder:
        print(f"embedder graphs written to {export_embedder_onnx(keep_fp32=args.fp32)}")
    return 0


def train_article_questions(args: argparse.Namespace) -> int:
    from qa.article_questions import CLASSIFIER_DIR
    from qa.training.article_questions import train
    from qa.training.squad import SQUAD1_TRAIN

    card = train(getattr(args, "squad", SQUAD1_TRAIN), getattr(args, "output_dir", CLASSIFIER_DIR))
    print(json.dumps(card, indent=1))
    return 0


def train_answer_check(args: argparse.Namespace) -> int:
    import tempfile

    from qa.answer_check import CHECK_DIR
    from qa.pipeline import Assistant
    from qa.training.answer_check import Examples, collect, fit, write_card
    from qa.training.squad import load_articles

    args.run_dir.mkdir(parents=True, exist_ok=True)
    parts = {}
    with tempfile.TemporaryDirectory(prefix="qa-check-index-") as index_dir:
        assistant = Assistant(index_dir)
        for part in ("train", "calibrate"):
            cached = args.run_dir / f"examples.{part}.npz"
            if not cached.exists():
                collect(load_articles(args.split_dir / f"squad2_dev_a.{part}.json.gz"), assistant).save(cached)
            parts[part] = Examples.load(cached)
    card = fit(parts["train"], parts["calibrate"])
    print(f"answer check written to {write_card(card, getattr(args, 'output_dir', CHECK_DIR))}")
    print(f"threshold {card['threshold']:.3f}: SQuAD 2.0 F1 on the calibration split {100 * card['calibration_f1']:.2f}")
    return 0
