"""The ``qa`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _train(args: argparse.Namespace) -> int:
    from qa.train import TrainConfig, train

    config = TrainConfig(
        output_dir=args.output_dir,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        max_examples=args.max_examples,
        max_steps=args.max_steps,
        max_minutes=args.max_minutes,
        checkpoint_every=args.checkpoint_every,
        eval_questions=args.eval_questions,
        seed=args.seed,
        threads=args.threads,
        bf16=not args.no_bf16,
        resume=args.resume,
    )
    if args.data:
        config.data = args.data
    if args.eval_data is not None:
        config.eval_data = args.eval_data if str(args.eval_data) else None
    best = train(config)
    print(f"best checkpoint: {best}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="qa", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="fine-tune the extractive reader")
    train.add_argument("--output-dir", type=Path, required=True)
    train.add_argument("--data", type=Path, nargs="+", help="SQuAD-format training files")
    train.add_argument("--eval-data", type=Path, help="dev file for checkpoint scores ('' for none)")
    train.add_argument("--eval-questions", type=int, default=600)
    train.add_argument("--epochs", type=float, default=2.0)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--learning-rate", type=float, default=1e-4)
    train.add_argument("--max-examples", type=int, help="train on a random sample of questions")
    train.add_argument("--max-steps", type=int)
    train.add_argument("--max-minutes", type=float, help="stop (with a checkpoint) after this long")
    train.add_argument("--checkpoint-every", type=int, default=1000, help="steps")
    train.add_argument("--seed", type=int, default=13)
    train.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    train.add_argument("--no-bf16", action="store_true", help="train in fp32 (slower)")
    train.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/checkpoint")
    train.set_defaults(handler=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
