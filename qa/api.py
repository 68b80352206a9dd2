"""The JSON API's answers: a question (with its earlier turns) in, the ``Answer``'s fields out,
or ``{"error": sentence}``; never a traceback. Served by the page as ``/ask``. Text that can't be
encoded (a lone surrogate) is repaired on the way in, so the answer can be sent.

>>> _api_turn("Who won?", "Berg", "chess")
Turn(question='Who won?', answer='Berg', span=None, document_id='chess')
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from qa.answer import Answer
from qa.errors import QAError
from qa.follow_ups import Turn
from qa.pipeline import Assistant
from qa.text import repaired

logger = logging.getLogger(__name__)


def ask_json(
    assistant: Assistant, question: str, document_id: str, history: list | None = None,
    may_ask: Callable[[str], bool] | None = None,
) -> dict:
    """Answer ``question`` about the article ``document_id`` ("*": every article of the archive),
    after the earlier turns ``history``: [[question, answer], ...], oldest first, so that a
    follow-up ("When did he arrive?") is understood. A turn may name the article its answer came
    from as a third item (the ``document_id`` an answer returned): over the archive, a follow-up
    is read there first.

    Returns the answer's fields (answer, score, answerable, sentence, start, end, sentence_start,
    sentence_end, document_id, document_title, alternatives, understood_as), or ``{"error": message}``.
    ``may_ask``: whether the caller may ask an article (its owner's rule, ``qa.rest.Service.may_ask``);
    an article they may not is refused as one that isn't there, and so is a turn that names one.
    """
    if question is None:  # left out by a raw call
        question = ""
    if not isinstance(question, str) or not isinstance(document_id, str):
        return {"error": "the question and the article's id must be text"}
    question, document_id = repaired(question), repaired(document_id)
    try:
        turns = [_api_turn(*turn) for turn in history or []]
    except TypeError:
        return {"error": "history must be a list of [question, answer] or [question, answer, document_id] turns, oldest first"}
    if may_ask is not None:
        if not may_ask(document_id):
            return {"error": f"no article {document_id[:60]!r} is stored here that you may ask: leave it out for the default article"}
        if any(turn.document_id is not None and not may_ask(turn.document_id) for turn in turns):
            return {"error": "history must be turns of articles you may ask: one names an article that isn't"}
    try:
        answer = assistant.ask(question, document_id=document_id, history=turns)
    except QAError as error:
        return {"error": str(error)}
    except Exception:  # a caller gets JSON whatever happens; the details go to the log
        logger.exception("/ask failed")
        return {"error": "internal error: the question could not be answered"}
    return api_payload(answer)


def _api_turn(question: object, answer: object, document_id: object = None) -> Turn:
    r"""An earlier turn as the API's ``history`` gives it (TypeError for the wrong number of items).

    >>> _api_turn("Who \ud800?", "Berg").question == "Who \ufffd?"
    True
    """
    return Turn(repaired(str(question)), repaired(str(answer)), document_id=repaired(str(document_id)) if document_id else None)


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


def with_defaults(app, endpoint) -> None:
    """Let a raw call of ``endpoint`` (a ``gr.api`` of the Blocks ``app``) leave out its trailing
    arguments, which take their defaults, as gradio_client fills them in: Gradio refuses a call
    with fewer values than the function has parameters before the function runs, and tells the
    caller only ``{"error": null}`` (``POST /gradio_api/call/ask`` with ``{"data": ["Who?"]}``).
    It is the one check Gradio makes before the function can (``Blocks.validate_inputs``),
    wrapped for this endpoint alone."""
    block_fn = next(fn for fn in app.fns.values() if fn.fn == endpoint.fn)  # a bound method: equal, not the same
    check = app.validate_inputs

    def validate_inputs(fn, inputs: list) -> None:
        if fn is block_fn:  # in place: the list is what the function is then called with
            inputs.extend(block.value for block in fn.inputs[len(inputs):])
        check(fn, inputs)

    app.validate_inputs = validate_inputs
