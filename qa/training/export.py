"""Turn a training checkpoint into the shipped reader: fp16 weights, calibrated threshold, model card.

    qa export-reader runs/reader/best qa/models/minilm-l6-squad-reader

The no-answer threshold is tuned end to end, the way the chatbot reads: each dev article becomes one
indexed document and its questions go through retrieval and the reader. It is tuned on half of the
articles (the odd-numbered ones) and the card reports the other half as held out, so the figure
shown is not tuned on itself.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import torch

from qa.errors import DataError
from qa.follow_ups import HISTORY_TURNS
from qa.paths import SHARED_DIR
from qa.pipeline import Assistant
from qa.reader import Reader, ReaderSettings
from qa.training.card import MARGIN_PERCENTILES, STAGES_FILE, Calibration, model_card, training_stages
from qa.training.end_to_end import evaluate_end_to_end, percentile
from qa.training.evaluate import (
    bootstrapped_threshold,
    evaluate_gold_paragraph,
    predictions_at,
    question_groups,
)
from qa.training.onnx_export import export_reader_onnx
from qa.training.squad import load_articles, load_questions, score_predictions

logger = logging.getLogger(__name__)

DEFAULT_CALIBRATION_DATA = SHARED_DIR / "eval" / "squad2_dev_a.json.gz"


# SQuAD 2.0 dev is half unanswerable by construction, and its unanswerable questions are written to
# look answerable from the paragraph. Someone asking about the article they are reading mostly asks
# what it covers: we expect about one question in ten to be answered nowhere in it, and weight the
# dev set's unanswerable questions to that share when tuning the threshold. The card shows how the
# threshold moves with this share.
EXPECTED_UNANSWERABLE_SHARE = 0.1
OTHER_SHARES = (0.2, 0.5)


def calibrate(
    reader: Reader,
    data: Path,
    unanswerable_share: float = EXPECTED_UNANSWERABLE_SHARE,
    held_aside: Path | None = None,
) -> Calibration:
    """Tune the no-answer threshold end to end on the odd-numbered articles; score the even ones,
    and (``held_aside``) each category of a file of generated unanswerable questions."""
    articles = load_articles(data)
    # Every hit read: answering early from the top hit only happens far above the threshold.
    def every_hit_read(index_dir: Path) -> Assistant:
        return Assistant(index_dir, reader=reader, stop_early=False)

    report = evaluate_end_to_end(articles, every_hit_read, recall_ks=(3,))
    halves: dict[int, list] = {0: [], 1: []}
    for number, article in enumerate(articles):
        halves[number % 2].extend(q for _, qs in article.paragraphs for q in qs)
    guesses = report.guesses
    threshold = bootstrapped_threshold(halves[1], guesses, unanswerable_share)
    other_shares = []
    for share in OTHER_SHARES:
        other = bootstrapped_threshold(halves[1], guesses, share)
        other_shares.append((share, other, score_predictions(halves[0], predictions_at(guesses, other))))
    margins = {
        kind: tuple(
            round(percentile([guesses[q.id].margin for q in halves[0] if q.answerable == answerable], p), 2)
            for p in MARGIN_PERCENTILES
        )
        for kind, answerable in (("answerable", True), ("unanswerable", False))
    }
    categories: list[tuple[str, int, float]] = []
    if held_aside is not None:
        generated = load_questions(held_aside)
        report = evaluate_gold_paragraph(reader, generated, threshold=threshold)
        for name, group in sorted(question_groups(load_articles(held_aside)).items()):
            if name.startswith("category "):
                scores = score_predictions(group, report.predictions)
                categories.append((name.removeprefix("category "), scores.total, scores.no_ans_exact or 0.0))
    return Calibration(
        threshold=threshold,
        held_out_margins=margins,
        held_aside_categories=tuple(categories),
        unanswerable_share=unanswerable_share,
        reader_precision=reader.precision,
        tuned_on=score_predictions(halves[1], predictions_at(guesses, threshold)),
        held_out=score_predictions(halves[0], predictions_at(guesses, threshold)),
        held_out_never_abstaining=score_predictions(halves[0], predictions_at(guesses, float("-inf"))),
        other_shares=tuple(other_shares),
    )


def average_with_start(model: torch.nn.Module, start: torch.nn.Module, start_weight: float) -> None:
    """Move ``model``'s weights ``start_weight`` of the way back to ``start``'s, the reader it was
    trained from.

    Fine-tuning a trained reader on new data (follow-ups, unanswerable questions) also drifts it
    from what it already read well; averaging the two sets of weights keeps most of both (WiSE-FT,
    Wortsman et al. 2022). Measured for reader v4 (docs/training.md): at 0.5, nyt_news_dev 76.43
    against 75.10 for the fine-tuned reader alone and 75.51 for its start, coqa with history 64.10
    against 66.22 and 49.81.

    >>> a, b = torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)
    >>> _ = a.weight.data.fill_(1.0), b.weight.data.fill_(3.0)
    >>> average_with_start(a, b, 0.25); a.weight.item()
    1.5
    """
    own, theirs = model.state_dict(), start.state_dict()
    if own.keys() != theirs.keys():
        raise DataError("the checkpoint and the reader it started from are not the same model: their weights differ in name")
    model.load_state_dict({name: (1 - start_weight) * own[name] + start_weight * theirs[name].to(own[name].dtype) for name in own})


def export_reader(
    checkpoint: Path,
    destination: Path,
    calibration_data: Path = DEFAULT_CALIBRATION_DATA,
    held_aside: Path | None = None,
    start_weight: float = 0.0,
) -> Calibration:
    """Write ``checkpoint`` to ``destination`` as a standard Hugging Face model directory;
    ``start_weight`` > 0 first averages it with the reader its run started from (``--init-from``)."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    checkpoint, destination = Path(checkpoint), Path(destination)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForQuestionAnswering.from_pretrained(checkpoint, dtype=torch.float32).eval()
    record = json.loads((checkpoint / "training_record.json").read_text())
    if start_weight:
        start = record["config"].get("init_from", "None")
        if start == "None":
            raise DataError(f"{checkpoint} was trained from the base encoder: there is no reader to average it with")
        average_with_start(
            model, AutoModelForQuestionAnswering.from_pretrained(start, dtype=torch.float32), start_weight
        )
    settings = ReaderSettings(
        max_seq_len=int(record["config"]["max_seq_len"]),
        doc_stride=int(record["config"]["doc_stride"]),
        # A reader trained on conversations reads a follow-up with the history it was trained with.
        history_turns=HISTORY_TURNS if float(record["config"].get("history_rate", 0)) > 0 else 0,
    )
    # Built beside the destination and swapped in at the end: an export that fails or is stopped
    # during the long calibration leaves the shipped reader as it was.
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        model.half().save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        export_reader_onnx(staging)
        # Calibrated exactly as it ships: the files on disk, loaded as the chatbot loads them.
        calibration = calibrate(Reader(staging, settings=settings), calibration_data, held_aside=held_aside)
        logger.info(
            "no-answer threshold %.3f; held-out %s", calibration.threshold, calibration.held_out.summary()
        )
        ReaderSettings(
            **{**settings.__dict__, "no_answer_threshold": round(calibration.threshold, 4)}
        ).save(
            staging,
            calibrated_on=(
                f"{calibration_data.name}, odd-numbered articles, end to end, unanswerable questions "
                f"weighted to {calibration.unanswerable_share:.0%} of the total"
            ),
            calibrated_in=calibration.reader_precision,
        )
        stages = training_stages(checkpoint)
        (staging / "README.md").write_text(model_card(stages, calibration, checkpoint, start_weight))
        (staging / STAGES_FILE).write_text(
            json.dumps([{"record": s.record, "curve": s.curve} for s in stages], indent=1) + "\n"
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(destination, ignore_errors=True)
    staging.rename(destination)
    return calibration
