"""The page's HTML and a notebook's view of an answer: escaped text, the answer marked in its sentence."""

from __future__ import annotations

from qa.answer import Answer


def test_a_notebook_shows_the_answer_marked_in_its_sentence_and_escaped():
    sentence = "The <b>Defence</b> Secretary arrived on Sunday."
    start = sentence.index("Sunday")
    answer = Answer("When?", "Sunday", 0.98, True, sentence, 0, len(sentence), start, start + 6, "d", "INDUS-X & co")
    shown = answer._repr_html_()
    assert "<mark>Sunday</mark>" in shown and "&lt;b&gt;Defence&lt;/b&gt;" in shown
    assert "INDUS-X &amp; co" in shown and "98%" in shown
    assert str(answer) == "Sunday — The <b>Defence</b> Secretary arrived on Sunday. (0.98)"
    declined = Answer("Who?", "", 0.1, False, sentence, 0, len(sentence), None, None, "d", "T")
    assert str(declined).startswith("The article doesn't say.") and "doesn" in declined._repr_html_()
