"""The page's HTML and a notebook's view of an answer: escaped text, the answer marked in its sentence."""

from __future__ import annotations

from qa.answer import Answer, Citation, Context
from qa.api import api_payload
from qa.documents import Document
from qa.render import article_html, reply_html


def test_a_notebook_shows_the_answer_marked_in_its_sentence_and_escaped():
    sentence = "The <b>Defence</b> Secretary arrived on Sunday."
    start = sentence.index("Sunday")
    answer = Answer("When?", "Sunday", 0.98, True, sentence, Context("d", start, start + 6), Context("d", 0, len(sentence)), "d", "INDUS-X & co")
    shown = answer._repr_html_()
    assert "<mark>Sunday</mark>" in shown and "&lt;b&gt;Defence&lt;/b&gt;" in shown
    assert "INDUS-X &amp; co" in shown and "98%" in shown
    assert str(answer) == "Sunday — The <b>Defence</b> Secretary arrived on Sunday. (0.98)"
    declined = Answer("Who?", "", 0.1, False, sentence, None, Context("d", 0, len(sentence)), "d", "T")
    assert str(declined).startswith("The article doesn't say.") and "doesn" in declined._repr_html_()


def _people_answer() -> tuple[Document, Answer]:
    text = "Austin met <Singh> in Delhi.\n\nLater Modi spoke. Austin left on Sunday."
    document = Document("d", "Talks", text)
    citations = (
        Citation("Lloyd Austin", Context("d", 0, 6), Context("d", 0, 28)),
        Citation("<Singh>", Context("d", 11, 18), Context("d", 0, 28)),
        Citation("Modi", Context("d", 36, 40), Context("d", 30, 47)),
    )
    return document, Answer("Who is mentioned?", "Lloyd Austin, <Singh>, Modi", 1.0, True, "", None, Context("d", 0, 28), "d", "Talks",
                            kind="people", citations=citations)


def test_a_list_answer_shows_as_a_list_and_marks_every_cited_sentence():
    document, answer = _people_answer()
    reply = reply_html(answer)
    assert "<li>Lloyd Austin</li>" in reply and "<li>&lt;Singh&gt;</li>" in reply and "People named:" in reply
    panel = article_html(document, answer)
    assert panel.count('<mark class="cited">') == 2  # two sentences cited, each marked once
    assert '<mark class="cited"><strong>Austin</strong> met &lt;Singh&gt; in Delhi.</mark>' in panel
    assert '<mark class="cited">Later <strong>Modi</strong> spoke.</mark> Austin left on Sunday.' in panel
    assert str(answer) == "- Lloyd Austin\n- <Singh>\n- Modi"


def test_a_summary_shows_as_its_sentences_and_a_missing_author_says_so():
    summary = Answer("tl;dr", "A. B.", 1.0, True, "", None, Context("d", 0, 2), "d", "T", kind="summary",
                     citations=(Citation("A.", Context("d", 0, 2), Context("d", 0, 2)), Citation("B.", Context("d", 3, 5), Context("d", 3, 5))))
    assert "<blockquote>A. B.</blockquote>" in reply_html(summary) and str(summary) == "A. B."
    nobody = Answer("Who wrote it?", "", 0.0, False, "", None, None, "d", "T", kind="author")
    assert "doesn't say who wrote it" in reply_html(nobody).replace("&#x27;", "'").replace("\\'", "'")
    assert api_payload(summary)["kind"] == "summary" and api_payload(summary)["citations"][1]["start"] == 3


def test_the_article_panel_says_where_the_article_comes_from_and_links_only_to_web_pages():
    meta = {"sitename": "Harbour <News>", "date": "2024-10-21", "author": "Ana Silva", "url": "https://news.example/ferry"}
    panel = article_html(Document("d", "Ferry", "The ferry sailed.", meta=meta))
    assert "Harbour &lt;News&gt;, 2024-10-21, by Ana Silva" in panel
    assert '<a href="https://news.example/ferry" rel="noopener noreferrer" target="_blank">the page</a>' in panel
    hostile = article_html(Document("d", "Ferry", "The ferry sailed.", meta={"url": "javascript:alert(1)"}))
    assert "javascript" not in hostile and "qa-byline" not in hostile
    assert "qa-byline" not in article_html(Document("d", "Pasted", "Text."))


def test_an_article_in_another_script_says_the_reader_understands_english_only():
    panel = article_html(Document("d", "新闻", "印度和美国在新德里启动了国防创新倡议。"))
    assert "Chinese or Japanese script: the reader understands English only. Answers may miss." in panel
    french = "Le ministre de la Défense a rencontré son homologue américain lundi à New Delhi pour parler d'innovation. " * 4
    assert "This article reads as French: the reader understands English only." in article_html(Document("d", "Défense", french))
    english = "The Defence Minister met his American counterpart in New Delhi on Monday to talk about innovation. " * 4
    assert "qa-language" not in article_html(Document("d", "Defence", english))


def test_a_reply_names_its_article_and_where_it_comes_from_only_when_it_answers():
    found = Answer("When?", "Sunday", 0.9, True, "On Sunday.", Context("d", 3, 9), Context("d", 0, 10), "d", "Ferry", document_byline="Harbour <News>, 2024-10-21")
    declined = Answer("When?", "", 0.1, False, "On Sunday.", None, Context("d", 0, 10), "d", "Ferry")
    assert 'from <a href="#article-panel">Ferry</a> — Harbour &lt;News&gt;, 2024-10-21' in reply_html(found)
    assert "Ferry" not in reply_html(declined)


def test_why_this_answer_folds_out_the_passages_read_and_the_runners_up():
    from qa.answer import Alternative, Passage

    read = (Passage("The ferry <b>sailed</b> on Tuesday. " * 20, Context("d", 0, 700), "Tuesday", 0.93), Passage("No date here.", Context("d", 700, 713), "", 0.0))
    answer = Answer("When?", "Tuesday", 0.93, True, "The ferry sailed on Tuesday.", Context("d", 20, 27), Context("d", 0, 28), "d", "Ferry",
                    alternatives=(Alternative("Monday", 0.2, "Not Monday.", Context("d", 800, 806)),), read=read)
    reply = reply_html(answer)
    why = reply[reply.index('<details class="qa-why">'):]
    assert "<summary>Why this answer?</summary>" in why and "Passages read:" in why and "Other candidates:" in why
    assert "best there: Tuesday (93%)" in why and "best there: nothing (0%)" in why and "<strong>Monday</strong>" in why
    assert "&lt;b&gt;sailed&lt;/b&gt;" in why and "<b>" not in why  # escaped
    assert " …" in why and len(why) < 2000  # a long passage is cut
    declined = Answer("When?", "", 0.1, False, "x", None, Context("d", 0, 1), "d", "Ferry")
    assert "qa-why" not in reply_html(declined)
