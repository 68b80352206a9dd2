"""The command line's training commands (``qa train``, ``qa export-reader``, ...): their options
only. Each handler imports ``qa.training`` when its command runs; the chatbot never does."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def add_training_commands(commands: argparse._SubParsersAction, training: Callable[[str], Callable]) -> None:
    """Add the training commands to ``commands``; ``training(name)`` is the handler that runs
    ``qa.training.commands.<name>``."""
    from qa.reader import DEFAULT_READER_DIR
    # Training options default to their dataclass (or function) defaults: given ones override them.
    train = commands.add_parser(
        "train", help="fine-tune the extractive reader", argument_default=argparse.SUPPRESS
    )
    train.add_argument("--output-dir", type=Path,
                       help="the run's folder (default: reader/ under $QA_RUNS_DIR or the user's cache)")
    train.add_argument("--status", action="store_true", help="print the run's step, ETA and last dev scores")
    train.add_argument("--data", type=Path, nargs="+",
                       help="SQuAD-format training files (default: SQuAD 1.1 train, the first 10 articles of 2.0 train)")
    train.add_argument("--eval-data", type=Path, nargs="+",
                       help="dev files scored at each checkpoint (default: squad2_dev_a, nyt_news_dev, coqa_cnn_dev)")
    train.add_argument("--eval-questions", type=int, help="questions of each dev file scored at each checkpoint")
    train.add_argument("--no-evaluate", dest="evaluate", action="store_false",
                       help="no dev scores at checkpoints")
    train.add_argument("--epochs", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--max-examples", type=int, help="train on a random sample of questions")
    train.add_argument("--max-steps", type=int)
    train.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this long")
    train.add_argument("--checkpoint-every", type=int, help="steps")
    train.add_argument("--seed", type=int)
    train.add_argument("--threads", type=int, help="torch CPU threads")
    train.add_argument("--nice", type=int, help="process priority (default 19: tests and the chat keep the CPU)")
    train.add_argument("--history-rate", type=float,
                       help="share of questions read after the earlier questions of their paragraph")
    train.add_argument("--unrelated-history-rate", type=float,
                       help="share of questions read after a turn of another article")
    train.add_argument("--skip-categories", nargs="*",
                       help="generated kinds not trained on (default: antonym removed)")
    train.add_argument("--no-bf16", dest="bf16", action="store_false",
                       help="train in fp32 even where the CPU has native bf16")
    train.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint")
    train.add_argument("--init-from", type=Path, help="start from this trained reader instead of the base encoder")
    train.add_argument("--negative-rate", type=float,
                       help="share of questions that also get a no-answer window of their own paragraph")
    train.add_argument("--other-paragraph-negative-rate", type=float,
                       help="share of questions that also get a no-answer window from another paragraph of their article")
    train.set_defaults(handler=training("train_command"))

    generate = commands.add_parser(
        "generate-unanswerable", help="unanswerable training questions made from answerable ones",
        argument_default=argparse.SUPPRESS,
    )
    generate.add_argument("--data", type=Path, nargs="+", help="SQuAD 1.1 files (default: SQuAD 1.1 train)")
    generate.add_argument("--output-dir", type=Path, required=True, help="directory for the SQuAD 2.0 files")
    generate.add_argument("--held-aside-articles", type=int,
                          help="the last N articles' questions go to held_aside.json.gz, not to training")
    generate.add_argument("--processes", type=int, help="spaCy parsing processes")
    generate.add_argument("--seed", type=int)
    generate.set_defaults(handler=training("generate_unanswerable"))

    conversations = commands.add_parser(
        "generate-conversations", help="follow-up questions made from SQuAD 1.1's paragraphs",
        argument_default=argparse.SUPPRESS,
    )
    conversations.add_argument("--data", type=Path, nargs="+", help="SQuAD 1.1 files (default: SQuAD 1.1 train)")
    conversations.add_argument("--unanswerable", type=Path,
                               help="qa generate-unanswerable's train.json.gz: its questions become follow-ups too")
    conversations.add_argument("--output-dir", type=Path, required=True)
    conversations.add_argument("--processes", type=int, help="spaCy parsing processes")
    conversations.add_argument("--seed", type=int)
    conversations.set_defaults(handler=training("generate_conversations"))

    export = commands.add_parser(
        "export-reader", help="ship a checkpoint: fp16, calibrated, with card", argument_default=argparse.SUPPRESS
    )
    export.add_argument("checkpoint", type=Path)
    export.add_argument("destination", type=Path, nargs="?", default=DEFAULT_READER_DIR)
    export.add_argument("--calibration-data", type=Path, help="SQuAD 2.0 file (default: squad2_dev_a)")
    export.add_argument(
        "--held-aside", type=Path,
        help="generated unanswerable questions held aside from training (qa generate-unanswerable): "
        "NoAns accuracy per category goes on the model card",
    )
    export.add_argument(
        "--average-with-start", type=float, metavar="WEIGHT",
        help="average the checkpoint's weights with the reader its run started from (--init-from), "
        "this weight on the start (0.5 shipped reader v4)",
    )
    export.set_defaults(handler=training("export_reader"))

    kinds = commands.add_parser(
        "train-article-questions", help="the classifier of questions about the whole article", argument_default=argparse.SUPPRESS
    )
    kinds.add_argument("--squad", type=Path, help="SQuAD 1.1 train, whose questions are the span examples")
    kinds.add_argument("--output-dir", type=Path, help="default: qa/models/article-questions")
    kinds.set_defaults(handler=training("train_article_questions"))

    check = commands.add_parser(
        "train-answer-check", help="the check after the reader: the chance its best span is right",
        argument_default=argparse.SUPPRESS,
    )
    check.add_argument("--split-dir", type=Path, required=True,
                       help="where qa split-squad2-dev wrote squad2_dev_a.train/calibrate.json.gz")
    check.add_argument("--run-dir", type=Path, required=True,
                       help="where the examples read are kept (read again only when missing)")
    check.add_argument("--output-dir", type=Path, help="default: qa/models/answer-check")
    check.set_defaults(handler=training("train_answer_check"))

    split = commands.add_parser(
        "split-squad2-dev", help="squad2_dev_a by article: to train on, to calibrate on, to measure on",
        argument_default=argparse.SUPPRESS,
    )
    split.add_argument("--output-dir", type=Path, required=True, help="where squad2_dev_a.<part>.json.gz go")
    split.add_argument("--squad1-sample", type=int, metavar="N",
                       help="also write N random questions of SQuAD 1.1 train (squad1_sample.json.gz)")
    split.set_defaults(handler=training("split_squad2_dev"))

    onnx = commands.add_parser("export-onnx", help="ONNX graphs (int8) of the reader and the embedder")
    onnx.add_argument("--reader", type=Path, default=DEFAULT_READER_DIR, help="reader model directory")
    onnx.add_argument("--no-embedder", action="store_true", help="export the reader only")
    onnx.add_argument("--fp32", action="store_true", help="also keep the fp32 graphs (backend onnx-fp32)")
    onnx.set_defaults(handler=training("export_onnx"))

