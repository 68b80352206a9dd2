"""The qa command line: ask articles, index them, evaluate, train and ship the reader, serve the page.

    qa ask "What does INDUS-X aim at?"
    qa ask "Who won?" --doc story.html --json
    qa chat
    qa index seeds/indus_x.txt
    qa index news/ --archive archive/ --workers 2
    qa ask "Who won?" --archive archive/
    qa eval ../shared/eval/nyt_news_dev.json.gz --predictions out.json
    qa serve
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
import traceback
from pathlib import Path

from qa.cli_training import add_training_commands
from qa.config import CONFIG_VARIABLE, Settings, load_settings
from qa.errors import QAError


def _assistant(args: argparse.Namespace):
    from qa.library import load_article, seed_document
    from qa.pipeline import Assistant
    from qa.reader import Reader

    assistant = Assistant(reader=Reader(args.reader))
    if args.archive:
        assistant.use_archive(args.archive)
    # Every --doc is asked: a question goes to them all, and the answer says which one it is from.
    for path in args.doc or ([] if args.archive else [None]):
        assistant.add(load_article(path) if path else seed_document())
    return assistant


def format_answer(answer) -> str:
    """An answer for the terminal: the span, its sentence, the confidence and the article it comes
    from ("from <title> — <site>, <date>")."""
    understood = f"\n  {answer.source}" if answer.answerable and answer.document_title else ""
    if answer.understood_as:
        how = "your question was long: I read its beginning" if answer.question_was_cut else "understood as"
        understood += f"\n  ({how}: {answer.understood_as!r})"
    if answer.kind != "span":  # about the whole article: its sentences, or a list
        return f"{answer}{understood}"
    if not answer.answerable:
        return (
            f"The article doesn't say (confidence {answer.score:.0%} that it does).\n"
            f"Closest sentence: {answer.sentence}{understood}"
        )
    sentence = answer.sentence
    relative = answer.span.start - answer.sentence_span.start
    marked = f"{sentence[:relative]}[{answer.text}]{sentence[relative + len(answer.text):]}"
    return f"{answer.text}\n  confidence {answer.score:.0%}\n  in: {marked}{understood}"


def _ask(args: argparse.Namespace) -> int:
    answer = _assistant(args).ask(args.question)
    if args.json:  # the same fields, under the same names, as the HTTP API's
        from qa.api import api_payload

        print(json.dumps(api_payload(answer), indent=2, ensure_ascii=False))
    else:
        print(format_answer(answer))
    return 0


def article_formats() -> str:
    """The article files every command reads, as ``qa.documents`` defines them: ".txt, .md, …, .pdf or .docx"."""
    from qa.documents import SUPPORTED_SUFFIXES

    return f"{', '.join(SUPPORTED_SUFFIXES[:-1])} or {SUPPORTED_SUFFIXES[-1]}"


def chat_help() -> str:
    return f"""Ask a question about the article; follow-ups may refer to earlier answers ("When did he arrive?").
  /new            forget the conversation: the next question is a first question
  /article PATH   ask another article, in a new conversation
                  (a {article_formats()} file, or an http(s) link)
  /help           this list
  /quit           leave (so do an empty line and Ctrl-D)"""


def _chat(args: argparse.Namespace) -> int:
    import readline  # noqa: F401  (line editing and the up-arrow's history for input())

    from qa.conversation import Conversation
    from qa.library import load_article

    assistant = _assistant(args)
    conversation = Conversation(assistant)
    titles = "; ".join(document.title for document in assistant.documents)
    title = titles or f"the {len(assistant.archive):,} articles of {args.archive}"
    print(f"Asking about: {title}. /help for the commands; an empty line or Ctrl-D to leave.")
    while True:
        try:
            line = input("? ").strip()
        except EOFError:
            print()
            return 0
        command, _, argument = line.partition(" ")
        try:
            if not line or command == "/quit":
                return 0
            if command == "/help":
                print(chat_help())
            elif command == "/new":
                conversation.clear()
                print("New conversation.")
            elif command == "/article" and not argument.strip():
                print("/article needs the article to ask: /article PATH (a file, or an http(s) link)")
            elif command == "/article":
                document = assistant.add(load_article(argument.strip()))
                conversation = Conversation(assistant, document.id)
                print(f"Asking about: {document.title}.")
            elif command.startswith("/"):
                print(f"unknown command {command}: /help lists them")
            else:
                print(format_answer(conversation.ask(line)))
        except QAError as error:
            print(f"error: {error}")
        except Exception as error:  # the chat goes on; the details go to the log with -v
            logging.getLogger("qa").debug("answering %r failed", line[:200], exc_info=True)
            print(f"error: unexpected {error.__class__.__name__}; please try another question")


def _extract(args: argparse.Namespace) -> int:
    from qa.library import load_article

    document = load_article(args.path)
    if args.json:
        payload = {"title": document.title, "text": document.text, "meta": document.meta, "source": document.source}
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        print(document.text)
    return 0


def _index(args: argparse.Namespace) -> int:
    if not args.paths and not args.remove:
        raise QAError("nothing to do: give article files or directories to index (or --remove with --archive)")
    if args.remove:
        if not args.archive:
            raise QAError("--remove needs --archive DIR: the archive to remove the articles from")
        from qa.embedding import Embedder
        from qa.store_build import remove_from_corpus

        archive = remove_from_corpus(args.archive, Embedder(), args.remove)
        print(f"{args.archive}: {len(archive):,} articles after removing {len(args.remove)}")
    if not args.paths:
        return 0
    if args.archive:
        from qa.archive_ingest import ingest

        report = ingest(args.paths, args.archive, workers=args.workers, ray_address=args.ray_address)
        how = f"on Ray, {report.workers} workers" if report.workers else "in this process"
        print(
            f"{args.archive}: {report.documents:,} articles ({report.added:,} new); {report.sentences:,} sentences "
            f"embedded in {report.seconds:.1f} s ({report.sentences_per_second:.0f}/s, {how})"
        )
        for reason in report.skipped:
            print(f"skipped {reason}")
        return 0
    from qa.articles import ArticleStore
    from qa.embedding import Embedder
    from qa.library import load_article

    store = ArticleStore(args.index_dir, Embedder())
    for path in args.paths:
        document = load_article(path)
        index = store.build(document) if args.rebuild else store.load_or_build(document)
        print(f"{path}: {len(index.sentences)} sentences, {len(index.chunks)} chunks -> {args.index_dir / document.id}")
    return 0


def _training(name: str):
    """The handler ``name`` of qa/training/commands.py, imported only when its command runs: the
    runtime never imports training code."""

    def handler(args: argparse.Namespace) -> int:
        from qa.training import commands

        return getattr(commands, name)(args)

    return handler


def _serve(args: argparse.Namespace) -> int:
    if args.ray_address:
        return _serve_on_ray(args)
    # The models and the seed index load while gradio is imported: importing is Python holding the
    # GIL, ONNX Runtime's model loading mostly is not (ready 0.5-1.0 s sooner on 2 cores). Should
    # loading fail there, serve() loads again and reports it.
    threading.Thread(target=_ready_quietly, name="warm-up", daemon=True).start()
    from ui import serve

    serve(host=args.host, port=args.port, archive=args.archive, api_keys=set(args.api_keys))
    return 0


def _serve_on_ray(args: argparse.Namespace) -> int:
    from qa.ray_serve import serve_on_ray
    from qa.rest import api_keys_from_environment

    if args.replicas < 1:
        raise QAError("--replicas must be at least 1")
    server = load_settings().server
    serve_on_ray(
        args.ray_address, args.replicas, args.archive, set(args.api_keys) | api_keys_from_environment(),
        args.host or server.host, args.port or server.port,
    )
    return 0


def _ready_quietly() -> None:
    from qa.pipeline import ready_default_assistant

    try:
        ready_default_assistant()
    except Exception:  # serve() loads again in the main thread and reports it there
        logging.getLogger("qa").debug("warm-up failed", exc_info=True)


def build_parser() -> argparse.ArgumentParser:
    from qa.paths import default_index_dir
    from qa.reader import DEFAULT_READER_DIR

    parser = argparse.ArgumentParser(
        prog="qa", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--config", type=Path, metavar="FILE",
        help=f"settings to change, in TOML (qa.config says which); the same as {CONFIG_VARIABLE}=FILE",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_reader(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
        command.add_argument("--reader", type=Path, default=DEFAULT_READER_DIR, help="reader model directory")
        return command

    ask = with_reader(commands.add_parser("ask", help="answer one question"))
    ask.add_argument("question")
    ask.add_argument("--doc", action="append", help=f"article: a {article_formats()} file, or an http(s) link; "
                     "repeat it to ask several (the answer says which it is from); default: the INDUS-X seed")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--archive", type=Path, help="ask the whole archive built there (qa index --archive)")
    ask.set_defaults(handler=_ask)

    chat = with_reader(commands.add_parser("chat", help="a conversation in the terminal"))
    chat.add_argument("--doc", action="append", help=f"article: a {article_formats()} file, or an http(s) link; "
                      "repeat it to ask several; default: the INDUS-X seed")
    chat.add_argument("--archive", type=Path, help="ask the whole archive built there (qa index --archive)")
    chat.set_defaults(handler=_chat)

    def with_ray(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
        command.add_argument("--workers", type=int, help="Ray workers embedding (default: one per CPU of the cluster)")
        command.add_argument("--ray-address", help="a running Ray cluster (e.g. ray://head:10001, auto); default: a local one")
        return command

    index = with_ray(commands.add_parser("index", help="build (or check) the index of articles, or an archive"))
    index.add_argument("paths", nargs="*", help="article files, directories of them, or (without --archive) links")
    index.add_argument("--archive", type=Path, help="build or extend one archive of all the articles there")
    index.add_argument("--remove", nargs="+", default=[], metavar="ID_OR_PATH",
                       help="remove these articles (ids, or the paths they were read from) from the --archive")
    index.add_argument("--index-dir", type=Path, default=default_index_dir(), help="default: $QA_INDEX_DIR, else index/ in the user's cache folder")
    index.add_argument("--rebuild", action="store_true", help="rebuild even when the index is current")
    index.set_defaults(handler=_index)

    evaluate = with_ray(with_reader(commands.add_parser(
        "eval", help="score the chatbot on a set: SQuAD-format (EM/F1), saved pages (--pages) or chat shapes (--shapes)")))
    evaluate.add_argument("data", type=Path, help="SQuAD v1.1/v2.0 .json or .json.gz; a saved-pages probe with --pages; "
                          "a chat-shapes set with --shapes")
    evaluate.add_argument("--pages", type=Path, metavar="PAGES",
                          help="DATA is a saved-pages probe (saved_pages_dev.json): load each page of PAGES "
                               "(article_extraction_dev.json.gz) as a user's HTML file and ask its questions")
    evaluate.add_argument("--shapes", action="store_true",
                          help="DATA is a chat-shapes set (chat_shapes_dev.json): yes/no, claims, why, how, quotes, "
                               "counts, lists, judged by its rules, per kind")
    evaluate.add_argument("--outcomes", type=Path, metavar="FILE",
                          help="write each reply's confidence and whether it is right (JSON lines, for bench/calibration.py)")
    evaluate.add_argument("--gold-paragraph", action="store_true", help="read each question in its own paragraph")
    evaluate.add_argument("--predictions", type=Path, help="write {question id: answer} here")
    evaluate.add_argument("--limit", type=int, help="only the first N articles")
    evaluate.add_argument(
        "--conversation", action="store_true",
        help="ask each article's questions in turn, with the gold history (CoQA), and alone",
    )
    evaluate.add_argument(
        "--across-articles", action="store_true",
        help="ask every question of one corpus of all the articles (and distractors), not naming the article",
    )
    evaluate.add_argument("--distractors", type=Path, nargs="*", default=[],
                          help="SQuAD-format files whose paragraphs join the corpus as documents of their own")
    evaluate.add_argument("--index-dir", type=Path,
                          help="keep the corpus here, and reuse it when it holds exactly these documents")
    evaluate.set_defaults(handler=_training("evaluate"))

    add_training_commands(commands, _training)

    extract = commands.add_parser("extract", help="print an article's text as the chatbot reads it")
    extract.add_argument("path", type=Path, help="a .txt, .md, .html, .pdf or .docx file, or a link")
    extract.add_argument("--json", action="store_true", help="the title, text and what the page says of it")
    extract.set_defaults(handler=_extract)

    serve = commands.add_parser("serve", help="the Gradio chat page")
    serve.add_argument("--host", help=f"default {Settings().server.host} ([server] host): this machine only")
    serve.add_argument("--port", type=int, help=f"default {Settings().server.port} ([server] port)")
    serve.add_argument("--archive", type=Path, help="also ask the whole archive built there (qa index --archive)")
    serve.add_argument("--api-key", action="append", default=[], dest="api_keys",
                       help="a key the REST API (/v1) accepts (repeatable; also QA_API_KEYS); without keys it answers this machine only")
    serve.add_argument("--ray-address", help="serve the REST API on this Ray cluster's Ray Serve (auto: the running one) instead of the page")
    serve.add_argument("--replicas", type=int, default=2, help="with --ray-address: processes answering, one CPU each")
    serve.set_defaults(handler=_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Long jobs report progress (eval's is its progress bar alone: one INFO line per article indexed
    # would bury it).
    if args.command in ("train", "export-reader", "export-onnx", "index", "generate-unanswerable",
                        "generate-conversations", "train-article-questions"):
        logging.getLogger("qa").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        if args.config:
            load_settings(args.config)  # a file that can't be used is said now, in a sentence
            # Through the environment, every part of the process reads it, and so do the processes it starts.
            os.environ[CONFIG_VARIABLE] = str(args.config)
        return args.handler(args)
    except QAError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # one line for the user; the traceback with -v
        if args.verbose:
            traceback.print_exc()
        hint = "" if args.verbose else " (run with -v for the details)"
        print(f"error: unexpected {error.__class__.__name__}: {error}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
