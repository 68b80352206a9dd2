"""The JSON API's answers: a question (with its earlier turns) in, the ``Answer``'s fields out,
or ``{"error": sentence}``; never a traceback. Served by the page as ``/ask``.

>>> _api_turn("Who won?", "Berg", "chess")
Turn(question='Who won?', answer='Berg', span=None, document_id='chess')
"""

from __future__ import annotations

import logging

from qa.answer import Answer
from qa.conversation import Turn
from qa.errors import QAError
from qa.pipeline import Assistant

logger = logging.getLogger(__name__)


def ask_json(assistant: Assistant, question: str, document_id: str, history: list | None = None) -> dict:
    """Answer ``question`` about the article ``document_id`` ("*": every article of the archive),
    after the earlier turns ``history``: [[question, answer], ...], oldest first, so that a
    follow-up ("When did he arrive?") is understood. A turn may name the article its answer came
    from as a third item (the ``document_id`` an answer returned): over the archive, a follow-up
    is read there first.

    Returns the answer's fields (answer, score, answerable, sentence, start, end, sentence_start,
    sentence_end, document_id, document_title, alternatives, understood_as), or ``{"error": message}``.
    """
    try:
        turns = [_api_turn(*turn) for turn in history or []]
    except TypeError:
        return {"error": "history must be a list of [question, answer] or [question, answer, document_id] turns, oldest first"}
    try:
        answer = assistant.ask(question, document_id=document_id, history=turns)
    except QAError as error:
        return {"error": str(error)}
    except Exception:  # a caller gets JSON whatever happens; the details go to the log
        logger.exception("/ask failed")
        return {"error": "internal error: the question could not be answered"}
    return api_payload(answer)


def _api_turn(question: object, answer: object, document_id: object = None) -> Turn:
    """An earlier turn as the API's ``history`` gives it (TypeError for the wrong number of items)."""
    return Turn(str(question), str(answer), document_id=str(document_id) if document_id else None)


def api_payload(answer: Answer) -> dict:
    """The ``/ask`` JSON: the ``Answer``'s fields, the span's text under ``answer``, and each place
    (a ``Context``) as the flat offsets the API has always sent (``_flat``)."""
    payload = _flat(answer.to_dict())
    payload["answer"] = payload.pop("text")
    for alternative in payload["alternatives"]:
        alternative["answer"] = alternative.pop("text")
    return payload


def _flat(fields: dict) -> dict:
    """``fields`` with each place (``span``, ``sentence_span``: a ``Context``'s fields, or None)
    as ``start``/``end`` or ``sentence_start``/``sentence_end`` and its ``document_id``, and the
    places of the pieces listed (alternatives, citations, passages read) likewise.

    >>> _flat({"text": "Ana", "span": {"document_id": "d", "start": 0, "end": 3}, "sentence_span": None})
    {'text': 'Ana', 'start': 0, 'end': 3, 'document_id': 'd', 'sentence_start': None, 'sentence_end': None}
    """
    flat: dict = {}
    for key, value in fields.items():
        if key in ("span", "sentence_span"):
            prefix = "sentence_" if key == "sentence_span" else ""
            flat[prefix + "start"], flat[prefix + "end"] = (value["start"], value["end"]) if value else (None, None)
            if value:
                flat.setdefault("document_id", value["document_id"])
        elif isinstance(value, (list, tuple)):
            flat[key] = [_flat(item) if isinstance(item, dict) else item for item in value]
        else:
            flat[key] = value
    return flat
