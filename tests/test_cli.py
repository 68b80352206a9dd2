"""The `qa` command line: each command runs; bad input gets one clear line, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO_ROOT, SEED_ARTICLE, write_squad

from qa.cli import main

QA = [sys.executable, "-m", "qa.cli"]


def run_qa(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*QA, *args], input=stdin, capture_output=True, text=True, timeout=600, env=os.environ.copy()
    )


@pytest.mark.slow
def test_ask_json():
    result = run_qa("ask", "What is INDUS-X focused on?", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["answerable"] and "high-tech cooperation" in answer["answer"]  # as the HTTP API names it
    assert answer["answer"] in answer["sentence"] and "text" not in answer


@pytest.mark.slow
def test_ask_own_document_and_chat(tmp_path, capsys, monkeypatch):
    story = tmp_path / "story.txt"
    story.write_text("The new bridge over the river opened on 4 May. It cost 12 million euros.")
    assert main(["ask", "How much did the bridge cost?", "--doc", str(story)]) == 0
    assert "12 million euros" in capsys.readouterr().out

    questions = iter(["When did the bridge open?", "", "never asked"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(questions))
    assert main(["chat", "--doc", str(story)]) == 0
    out = capsys.readouterr().out
    assert "4 May" in out and "never asked" not in out


@pytest.mark.slow
def test_ask_with_several_docs_asks_them_all_and_says_which_answered(tmp_path, capsys):
    bridge = tmp_path / "a.txt"
    bridge.write_text("Bridge opens\n\nThe new bridge over the river opened on 4 May. It cost 12 million euros.")
    ferry = tmp_path / "b.html"
    ferry.write_text("<html><head><title>Ferry returns</title></head><body><p>The ferry to the island sailed "
                     "again on Tuesday after a storm kept it in port for a week.</p></body></html>")
    for question, answer, title in [("How much did the bridge cost?", "12 million euros", "Bridge opens"),
                                    ("When did the ferry sail again?", "Tuesday", "Ferry returns")]:
        assert main(["ask", question, "--doc", str(bridge), "--doc", str(ferry)]) == 0
        out = capsys.readouterr().out
        assert out.startswith(answer) and f"from {title}" in out, out


@pytest.mark.slow
def test_chat_says_how_to_use_article_and_its_help_lists_every_format(capsys, monkeypatch):
    from qa.documents import SUPPORTED_SUFFIXES

    lines = iter(["/help", "/article", "/article   ", ""])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    help_text = out[out.index("/new"):out.index("/quit")]
    assert all(suffix in help_text for suffix in SUPPORTED_SUFFIXES)
    assert out.count("/article needs the article to ask: /article PATH") == 2 and "no such file" not in out


@pytest.mark.slow
def test_index_command(tmp_path, capsys):
    index_dir = tmp_path / "index"
    assert main(["index", str(SEED_ARTICLE), "--index-dir", str(index_dir)]) == 0
    assert "19 sentences" in capsys.readouterr().out
    assert any(index_dir.iterdir())


@pytest.mark.slow
def test_eval_end_to_end(tmp_path, seed_text, capsys):
    paragraphs = [p for p in seed_text.split("\n\n") if p.strip()]
    data = write_squad(
        tmp_path / "e2e.json",
        [
            (paragraphs[0], [("a", "What is INDUS-X focused on?", ["advancing high-tech cooperation"])]),
            (paragraphs[2], [("b", "When did the US Defence Secretary arrive in New Delhi?", ["Sunday"]),
                             ("c", "What is the capital of France?", [])]),
        ],
    )
    predictions = tmp_path / "predictions.json"
    assert main(["eval", str(data), "--predictions", str(predictions)]) == 0
    out = capsys.readouterr().out
    for expected in ("HasAns", "NoAns", "recall@3", "abstention precision", "p50", "p95"):
        assert expected in out
    assert set(json.loads(predictions.read_text())) == {"a", "b", "c"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "Please type a question"),
        (["ask", "x" * 100_000], "characters long"),
        (["ask", "Who?", "--doc", "missing.txt"], "no such file"),
        (["ask", "Who?", "--doc", "qa"], "is a folder: give one article's file, or index the folder as an archive"),
    ],
)
def test_bad_input_is_one_clear_line(args, message):
    result = run_qa(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_binary_document_is_refused(tmp_path):
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    result = run_qa("ask", "Who?", "--doc", str(binary))
    assert result.returncode == 2
    assert "binary" in result.stderr and "Traceback" not in result.stderr


def test_truncated_empty_and_odd_data_files_are_one_line(tmp_path, capsys):
    whole = write_squad(tmp_path / "whole.json.gz", [("Austin arrived on Sunday.", [("a", "When?", ["Sunday"])])])
    truncated = tmp_path / "cut.json.gz"
    truncated.write_bytes(whole.read_bytes()[:-12])
    empty = tmp_path / "empty.json"
    empty.write_text("")
    for path, message in ((truncated, "is truncated"), (empty, "is not a SQuAD-format file"), (tmp_path / "none.json", "cannot read")):
        assert main(["eval", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unexpected_failure_is_one_line_and_the_details_come_with_verbose(monkeypatch, capsys):
    monkeypatch.setattr("qa.cli._ask", lambda args: 1 / 0)
    assert main(["ask", "Who?"]) == 1
    err = capsys.readouterr().err
    assert err == "error: unexpected ZeroDivisionError: division by zero (run with -v for the details)\n"
    assert main(["-v", "ask", "Who?"]) == 1
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.slow
def test_qa_index_builds_the_index_qa_ask_uses(tmp_path, monkeypatch, caplog):
    import logging

    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(REPO_ROOT)  # the documented path, seeds/indus_x.txt (a link to the package data)
    assert main(["index", "seeds/indus_x.txt", "--index-dir", str(tmp_path / "index")]) == 0
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="qa.articles"):
        assert main(["ask", "What does INDUS-X aim at?"]) == 0
    assert "building" not in caplog.text  # loaded, not built again
    assert len(list((tmp_path / "index").iterdir())) == 1


@pytest.mark.slow
def test_a_long_question_is_read_cut_and_the_terminal_says_so(capsys):
    assert main(["ask", "What does INDUS-X aim at? " + "Please answer in detail, " * 30]) == 0
    assert "your question was long: I read its beginning" in capsys.readouterr().out


@pytest.mark.slow
def test_eval_conversation_prints_alone_and_with_history(tmp_path, capsys):
    story = "Bo Xilai was removed from his post on Thursday. He was replaced by Zhang Dejiang, a vice premier."
    data = write_squad(
        tmp_path / "coqa.json",
        [(story, [("t1", "who was removed from his post?", ["Bo Xilai"]), ("t2", "when was he removed?", ["Thursday"])])],
        version="v1.1",
    )
    predictions = tmp_path / "predictions.json"
    assert main(["eval", str(data), "--conversation", "--predictions", str(predictions)]) == 0
    out = capsys.readouterr().out
    assert out.index("each question asked alone") < out.index("in conversation, with the gold history")
    assert out.count("HasAns") == 2 and set(json.loads(predictions.read_text())) == {"t1", "t2"}


class Terminal:
    """``qa chat`` in a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, *args: str):
        import pty

        self.master, follower = pty.openpty()
        self.process = subprocess.Popen([*QA, "chat", *args], stdin=follower, stdout=follower, stderr=follower,
                                        env={**os.environ, "TERM": "xterm"})
        os.close(follower)
        self.seen = ""

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, text: str, times: int = 1, timeout: float = 120) -> str:
        """What the terminal showed, once ``text`` has appeared ``times`` times."""
        import select
        import time

        deadline = time.monotonic() + timeout
        while self.seen.count(text) < times:
            assert time.monotonic() < deadline, f"no {text!r} x{times} in {self.seen[-2000:]!r}"
            if select.select([self.master], [], [], 0.5)[0]:
                self.seen += os.read(self.master, 65536).decode(errors="replace")
        return self.seen


@pytest.mark.slow
def test_qa_chat_edits_lines_remembers_them_and_takes_commands():
    terminal = Terminal()
    prompts = 0

    def then(keys: str) -> str:
        """Type ``keys`` at the next prompt (typed ahead, the terminal would echo them raw)."""
        nonlocal prompts
        prompts += 1
        terminal.wait_for("? ", times=prompts)
        terminal.type(keys)
        return terminal.seen

    try:
        then("/help\n")
        assert "/article PATH" in terminal.wait_for("/quit")
        then("Who is the Defence Minister of Inda\x7fia?\n")  # a typo, mended with backspace
        terminal.wait_for("  in: ")
        then("\x1b[A\n")  # up-arrow: the last question again, from readline's history
        seen = terminal.wait_for("  in: ", times=2)
        # Two answers, the second to the recalled line (shown mended), and no raw escape in it.
        assert "Who is the Defence Minister of India?" in seen and seen.count("Rajnath Singh") >= 2
        assert "^[[A" not in seen
        then("/new\n")
        terminal.wait_for("New conversation.")
        then("/nonsense\n")
        terminal.wait_for("/help lists them")
        then("/quit\n")
        assert terminal.process.wait(timeout=60) == 0
    finally:
        terminal.process.kill()
        os.close(terminal.master)


def test_qa_extract_prints_the_article_as_the_chatbot_reads_it(tmp_path, capsys):
    page = tmp_path / "saved.html"
    body = "".join(f"<p>Paragraph {i} says the harbour reopened after the storm closed it for days.</p>" for i in range(6))
    page.write_text(f"<html><head><title>Harbour | Daily</title></head><body><nav>Home | Sport</nav>"
                    f"<article><h1>Harbour reopens</h1>{body}</article><footer>Cookies</footer></body></html>")
    assert main(["extract", str(page)]) == 0
    text = capsys.readouterr().out
    assert "Paragraph 5 says the harbour reopened" in text and "Cookies" not in text and "Home | Sport" not in text
    assert main(["extract", str(page), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["title"] == "Harbour reopens" and payload["text"] == text.strip() and payload["meta"] == payload["meta"] | {}


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "``" not in capsys.readouterr().out


@pytest.mark.slow
def test_qa_ask_answers_a_question_about_the_whole_article(capsys):
    assert main(["ask", "Who is mentioned?"]) == 0
    out = capsys.readouterr().out
    assert "- Rajnath Singh" in out and "- Lloyd J Austin III" in out
    assert main(["ask", "What is this article about?", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["kind"] == "summary" and "INDUS-X" in payload["answer"] and payload["citations"][0]["start"] == 0
    assert main(["ask", "Austin arrived on Monday, right?", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert (payload["verdict"], payload["kind"], payload["answer"]) == ("no", "verdict", "No — it says Sunday")


def test_qa_ask_reads_a_link_but_never_one_to_this_machine(capsys):
    assert main(["ask", "Who won?", "--doc", "http://127.0.0.1:9/story"]) == 2
    assert "error: 127.0.0.1 is on this machine or a private network" in capsys.readouterr().err
