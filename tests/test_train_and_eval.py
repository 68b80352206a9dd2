"""`qa train` runs end to end on a tiny slice (and resumes); `qa eval` prints what a hand count gives."""

from __future__ import annotations

import gzip
import json
import random
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import write_squad

from qa.cli import main
from qa.reader import Reader
from qa.training.evaluate import ReaderGuess, bootstrapped_threshold
from qa.training.squad import Question, load_questions, question_scores
from qa.training.windows import training_windows


@pytest.fixture
def tiny_squad(tmp_path, seed_text):
    """A few dozen questions on the seed article's paragraphs, some unanswerable."""
    paragraphs = [p for p in seed_text.split("\n\n") if p.strip()]
    facts = [
        ("INDUS-X", "What initiative did they discuss?"),
        ("Washington", "Where will the formal launch be held?"),
        ("Sunday", "When did he arrive?"),
        ("2016", "In what year was India designated a partner?"),
        ("Rajnath Singh", "Who is the Defence Minister?"),
        ("jet engines", "What are they exploring co-producing?"),
    ]
    items = []
    for n, paragraph in enumerate(paragraphs):
        questions = [
            (f"p{n}-q{i}", question, [answer])
            for i, (answer, question) in enumerate(facts)
            if answer in paragraph
        ]
        questions.append((f"p{n}-none", "What is the capital of France?", []))
        items.append((paragraph, questions))
    return write_squad(tmp_path / "tiny.json", items)


@pytest.mark.slow
def test_train_runs_end_to_end_and_resumes(tmp_path, tiny_squad, capsys):
    output = tmp_path / "run"
    args = ["train", "--output-dir", str(output), "--data", str(tiny_squad), "--eval-data", str(tiny_squad),
            "--eval-questions", "8", "--checkpoint-every", "1", "--batch-size", "8", "--epochs", "2", "--nice", "0"]
    assert main(args + ["--max-steps", "1"]) == 0
    curve = [json.loads(line) for line in (output / "learning_curve.jsonl").read_text().splitlines()]
    assert [point["step"] for point in curve] == [1]
    assert {"f1_at_best", "best_threshold", "no_ans_accuracy_at_best", "tiny_has_ans_f1_never_abstaining"} <= set(curve[0])
    assert (output / "checkpoint" / "trainer_state.pt").exists()

    assert main(args + ["--max-steps", "2", "--resume"]) == 0
    curve = [json.loads(line) for line in (output / "learning_curve.jsonl").read_text().splitlines()]
    assert [point["step"] for point in curve] == [1, 2]  # carried on from step 1, not from scratch

    # The best checkpoint is a model directory the reader can read with.
    spans = Reader(output / "best").read("When did he arrive?", ["The US Defence Secretary arrived on Sunday."])
    assert spans and "The US Defence Secretary arrived on Sunday."[spans[0].start : spans[0].end] == spans[0].text


def _train_process(output, tiny_squad, *extra):
    command = [sys.executable, "-m", "qa.cli", "train", "--output-dir", str(output), "--data", str(tiny_squad),
               "--no-evaluate", "--checkpoint-every", "3", "--batch-size", "4", "--epochs", "4",
               "--nice", "0",  # the test's own priority: a real run beside it keeps nice 19
               # fp32 on one thread: bf16 kernels on two threads may sum in another order run to run
               "--no-bf16", "--threads", "1", *extra]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_run_stopped_by_sigterm_and_resumed_ends_with_the_weights_of_one_run_straight_through(tmp_path, tiny_squad):
    from safetensors.torch import load_file

    straight = _train_process(tmp_path / "straight", tiny_squad)
    assert straight.wait(timeout=300) == 0, straight.stderr.read()

    stopped = _train_process(tmp_path / "stopped", tiny_squad)
    status_path = tmp_path / "stopped" / "status.json"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (status_path.exists() and json.loads(status_path.read_text())["step"] >= 1):
        time.sleep(0.2)
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(timeout=120) == 0
    status = json.loads(status_path.read_text())
    assert status["state"] == "stopped" and 0 < status["step"] < status["total_steps"], status
    assert status["resume"].endswith("--resume")
    assert main(["train", "--output-dir", str(tmp_path / "stopped"), "--status"]) == 0

    resumed = _train_process(tmp_path / "stopped", tiny_squad, "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    assert json.loads(status_path.read_text())["state"] == "finished"
    one = load_file(tmp_path / "straight" / "checkpoint" / "model.safetensors")
    two = load_file(tmp_path / "stopped" / "checkpoint" / "model.safetensors")
    assert one.keys() == two.keys()
    assert all(torch.equal(one[name], two[name]) for name in one)


@pytest.mark.slow
def test_eval_gold_paragraph_matches_a_hand_count(tmp_path, tiny_squad, capsys):
    predictions_path = tmp_path / "predictions.json"
    assert main(["eval", str(tiny_squad), "--gold-paragraph", "--predictions", str(predictions_path)]) == 0
    printed = capsys.readouterr().out
    predictions = json.loads(predictions_path.read_text())
    questions = load_questions(tiny_squad)
    assert set(predictions) == {q.id for q in questions}
    # Count by hand from the written predictions, question by question.
    em = [question_scores(q, predictions[q.id])[0] for q in questions]
    f1 = [question_scores(q, predictions[q.id])[1] for q in questions]
    shown = re.search(r"EM ([\d.]+)\s+F1 ([\d.]+)\s+\(n=(\d+)\)", printed)
    assert shown, printed
    assert float(shown.group(1)) == pytest.approx(100 * sum(em) / len(em), abs=0.01)
    assert float(shown.group(2)) == pytest.approx(100 * sum(f1) / len(f1), abs=0.01)
    assert int(shown.group(3)) == len(questions)
    assert "questions/s" in printed


@pytest.mark.slow
def test_continued_training_exports_with_calibration_and_a_card_of_both_stages(tmp_path, tiny_squad, capsys):
    base, continued, shipped = tmp_path / "base", tmp_path / "continued", tmp_path / "shipped"
    common = ["--data", str(tiny_squad), "--eval-data", str(tiny_squad), "--eval-questions", "8",
              "--checkpoint-every", "1", "--batch-size", "8", "--max-steps", "1", "--nice", "0"]
    assert main(["train", "--output-dir", str(base), *common, "--other-paragraph-negative-rate", "0"]) == 0
    generated = generated_squad(tmp_path / "generated.json.gz", tiny_squad)
    assert main(["train", "--output-dir", str(continued), *common, "--init-from", str(base / "best"),
                 "--data", str(tiny_squad), str(generated)]) == 0

    # Calibration splits articles into odd and even halves: give it two.
    payload = json.loads(tiny_squad.read_text())
    payload["data"].append({**payload["data"][0], "title": "Second article"})
    calibration_data = tmp_path / "calibration.json"
    calibration_data.write_text(json.dumps(payload))
    assert main(["export-reader", str(continued / "best"), str(shipped), "--calibration-data", str(calibration_data),
                 "--held-aside", str(generated)]) == 0

    settings = json.loads((shipped / "qa_reader.json").read_text())
    assert isinstance(settings["no_answer_threshold"], float)
    assert "end to end" in settings["calibrated_on"] and settings["calibrated_in"] == "int8"  # as it ships
    card = (shipped / "README.md").read_text()
    assert "Stage 1: from the base encoder" in card and "Stage 2: continued from stage 1" in card
    assert f"--init-from {base / 'best'}" in card and "--other-paragraph-negative-rate 0.0 " in card
    assert "CC BY-SA 4.0" in card and "Apache-2.0" in card
    # The generated questions of stage 2: counted per category, scored on the held-aside file.
    assert "### Generated unanswerable questions (stage 2)" in card
    assert re.search(r"\| entity \| 1 \| \d+ of 100 \| (0\.0|100\.0) \(n=1\) \|", card), card
    assert "| unanswerable |" in card and "| answerable |" in card  # margin percentiles
    spans = Reader(shipped).read("When did he arrive?", ["The US Defence Secretary arrived on Sunday."])
    assert spans and spans[0].text in "The US Defence Secretary arrived on Sunday."

    # An export that fails (here: no calibration data) says why and leaves the shipped reader alone.
    shipped_files = {path.relative_to(shipped): path.read_bytes() for path in shipped.rglob("*") if path.is_file()}
    missing = tmp_path / "missing.json"
    assert main(["export-reader", str(continued / "best"), str(shipped), "--calibration-data", str(missing)]) == 2
    assert f"cannot read {missing}" in capsys.readouterr().err
    assert {path.relative_to(shipped): path.read_bytes() for path in shipped.rglob("*") if path.is_file()} == shipped_files
    assert (shipped / "onnx" / "model.int8.onnx").exists()  # the graphs ship with the weights
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("shipped")) == ["shipped"]

    # Averaged with the reader its run started from: every weight halfway between the two.
    averaged = tmp_path / "averaged"
    assert main(["export-reader", str(continued / "best"), str(averaged), "--calibration-data", str(calibration_data),
                 "--average-with-start", "0.5"]) == 0
    from safetensors.torch import load_file

    start, end, mixed = (load_file(d / "model.safetensors") for d in (base / "best", continued / "best", averaged))
    name = "qa_outputs.weight"
    assert not torch.allclose(start[name].float(), end[name].float())  # the two differ, so the test can fail
    assert torch.allclose(mixed[name].float(), (start[name].float() + end[name].float()) / 2, atol=1e-3)
    card = (averaged / "README.md").read_text()
    assert "### Weight averaging" in card and "--average-with-start 0.5" in card
    # A run from the base encoder has no reader to average with: one clear sentence.
    assert main(["export-reader", str(base / "best"), str(tmp_path / "none"), "--calibration-data", str(calibration_data),
                 "--average-with-start", "0.5"]) == 2
    assert "trained from the base encoder" in capsys.readouterr().err


def generated_squad(path, tiny_squad):
    """Two generated unanswerable questions, as ``qa generate-unanswerable`` writes them."""
    context = json.loads(tiny_squad.read_text())["data"][0]["paragraphs"][0]["context"]
    plausible = [{"text": "INDUS-X", "answer_start": context.index("INDUS-X")}]
    qas = [
        {"id": "g-entity", "question": "What initiative did Pakistan discuss?", "is_impossible": True,
         "answers": [], "plausible_answers": plausible, "category": "entity"},
        {"id": "g-negation", "question": "What initiative did they not discuss?", "is_impossible": True,
         "answers": [], "plausible_answers": plausible, "category": "negation"},
    ]
    payload = {"version": "v2.0-generated", "data": [{"title": "Generated", "paragraphs": [{"context": context, "qas": qas}]}]}
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(payload, handle)
    return path


def test_an_unanswerable_question_is_read_in_the_window_of_its_plausible_answer(tmp_path, tiny_squad):
    questions = load_questions(generated_squad(tmp_path / "generated.json.gz", tiny_squad))
    for seed in range(10):
        windows = training_windows(questions, random.Random(seed), negative_rate=0.0)
        assert len(windows) == 2
        for window in windows:
            assert window.answer_start is None and "INDUS-X" in window.text


@pytest.mark.slow
def test_eval_prints_held_out_halves_and_categories(tmp_path, tiny_squad, capsys):
    payload = json.loads(tiny_squad.read_text())
    payload["data"].append({**payload["data"][0], "title": "Second article"})
    two_articles = tmp_path / "two.json"
    two_articles.write_text(json.dumps(payload))
    assert main(["eval", str(two_articles), "--gold-paragraph"]) == 0
    printed = capsys.readouterr().out
    assert "even-numbered articles (held out from calibration):" in printed and "odd-numbered articles:" in printed
    assert main(["eval", str(generated_squad(tmp_path / "g.json.gz", tiny_squad)), "--gold-paragraph"]) == 0
    printed = capsys.readouterr().out
    assert "category entity:" in printed and "category negation:" in printed
    assert re.search(r"category entity:\n.*\nNoAns accuracy (0\.00|100\.00)  \(n=1\)", printed), printed


def test_bootstrapped_threshold_sits_between_right_answers_and_unanswerables():
    questions, guesses = [], {}
    for n in range(10):  # right answers at margins 2..11, unanswerable questions at -2..-11
        questions += [Question(f"a{n}", "?", "x", ("y",), (0,), ""), Question(f"u{n}", "?", "x", (), (), "")]
        guesses[f"a{n}"], guesses[f"u{n}"] = ReaderGuess("y", 2.0 + n), ReaderGuess("z", -2.0 - n)
    threshold = bootstrapped_threshold(questions, guesses)
    assert -2.0 < threshold < 2.0
    assert threshold == bootstrapped_threshold(questions, guesses)  # seeded: the same on every run
