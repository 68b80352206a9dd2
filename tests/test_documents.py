"""Loading articles: text, Markdown, HTML; clear errors for empty, binary and unsupported files."""

from __future__ import annotations

import pytest

from qa.documents import (
    MAX_DOCUMENT_CHARS,
    document_from_bytes,
    document_from_text,
    html_to_text,
    load_document,
)
from qa.errors import DocumentError


def test_text_and_markdown(tmp_path):
    (tmp_path / "story.txt").write_text("First line.\r\nSecond line.\n")
    doc = load_document(tmp_path / "story.txt")
    assert doc.text == "First line.\nSecond line." and doc.title == "story"
    (tmp_path / "notes.md").write_text("# Talks in *Delhi*\n\nAustin met **Singh**, [they said](http://x).\n\n- one\n- two\n")
    notes = load_document(tmp_path / "notes.md")
    assert notes.title == "Talks in Delhi"
    assert notes.text == "Talks in Delhi\n\nAustin met Singh, they said.\n\none\n\ntwo"


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("cp1252", "Le ministre a déclaré à la presse – « c’est fini »."),
        ("latin-1", "Café déjà vu, naïve façade."),
        ("utf-16", "Ünïcödé “quoted” text."),
        ("utf-8-sig", "BOM then “text”."),
        ("shift_jis", "ニュース記事です。今日は晴れ。東京で会議が開かれた。"),
    ],
)
def test_legacy_encodings_are_detected(encoding, text):
    assert document_from_bytes(text.encode(encoding), "story.txt").text == text


def test_html_to_text_time_is_linear_in_the_rows():
    """64,000 table rows, each row a paragraph; a quadratic converter took 4 s for 8,000."""
    import time

    def seconds(rows: int) -> float:
        page = "<table>" + "".join(f"<tr><td>row {i}</td><td>{i}</td></tr>" for i in range(rows)) + "</table>"
        start = time.perf_counter()
        _, text = html_to_text(page)
        assert text.count("\n\n") == rows - 1
        return time.perf_counter() - start

    # The fastest of a few runs each: a run preempted by another process says nothing of the converter.
    small, large = min(seconds(4_000) for _ in range(3)), min(seconds(64_000) for _ in range(2))
    assert large < 16 * small * 3, (small, large)  # 16x the rows: linear, with room for noise


def test_html_text_is_extracted_with_a_real_parser():
    html = b"""<html><head><title>Talks in Delhi</title><style>p{color:red}</style></head>
    <body><nav>Home | World</nav><h1>Talks</h1><p>Austin met   Singh.</p><p>They discussed <b>INDUS-X</b>.</p>
    <script>var x = "not article text";</script></body></html>"""
    doc = document_from_bytes(html, "page.html")
    assert doc.title == "Talks in Delhi"
    assert doc.text.split("\n\n")[:2] == ["Talks", "Austin met Singh."]
    assert "They discussed INDUS-X" in doc.text
    assert "not article text" not in doc.text and "color:red" not in doc.text and "Home | World" not in doc.text


def test_a_saved_news_page_is_read_for_its_article_and_what_it_says_of_it():
    paragraphs = "".join(
        f"<p>Paragraph {i} of the story says the talks went on for many hours in the capital.</p>" for i in range(6)
    )
    page = (
        '<html><head><title>Talks in Delhi | The Daily</title><meta name="author" content="Asha Rao">'
        '<meta property="article:published_time" content="2023-06-05"></head><body>'
        "<nav><a>Home</a> | <a>World</a></nav><aside>Related: Storm hits Valdora</aside>"
        f"<article><h1>Talks in Delhi</h1><p>They discussed <b>INDUS-X</b> and jet engines, it said.</p>{paragraphs}"
        "</article><footer>Contact us | Cookies</footer></body></html>"
    ).encode()
    doc = document_from_bytes(page, "saved.html")
    assert doc.title == "Talks in Delhi"
    assert "They discussed INDUS-X and jet engines, it said." in doc.text  # inline tags stay in their sentence
    for boilerplate in ("Home", "Related", "Contact us", "Cookies"):
        assert boilerplate not in doc.text
    assert doc.meta["author"] == "Asha Rao" and doc.meta["date"] == "2023-06-05"


def test_a_page_without_an_article_is_read_whole_and_says_so():
    doc = document_from_bytes(b"<html><body><table><tr><td>Day</td><td>Visitors</td></tr></table></body></html>", "t.html")
    assert doc.text == "Day Visitors" and "read whole" in doc.meta["note"]


def test_same_content_same_id():
    assert document_from_text("Some text.", "A").id == document_from_text("Some text.", "A").id
    assert document_from_text("Some text.", "A").id != document_from_text("Other text.", "A").id


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.txt", "empty"),
        (b"   \n\t ", "blank.txt", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt", "binary"),
        (bytes(range(256)) * 4, "blob.md", "binary"),
        (bytes(range(1, 32)) * 20, "control.txt", "binary"),
        (b"text", "sheet.xlsx", "unsupported file type"),
        (b"text", "README", "unsupported file type"),
        (b"<html><body><script>only()</script></body></html>", "empty.html", "empty"),
        (b"<!-- nothing but a comment -->", "comment.html", "empty"),
        (b"... --- !!! ???", "punctuation.txt", "no words"),
        (b"# \n\n---\n", "rule.md", "empty"),
    ],
)
def test_bad_files_get_a_clear_error(data, name, message):
    with pytest.raises(DocumentError, match=message):
        document_from_bytes(data, name)


def test_huge_document_is_refused():
    with pytest.raises(DocumentError, match="limit"):
        document_from_text("word " * (MAX_DOCUMENT_CHARS // 4))


def test_missing_file(tmp_path):
    with pytest.raises(DocumentError, match="no such file"):
        load_document(tmp_path / "nope.txt")


def test_a_text_files_headline_is_its_title():
    from qa.documents import document_from_bytes

    assert document_from_bytes(b"Ferry resumes after storm\n\nThe ferry sailed on Tuesday.", "notes-3.txt").title == "Ferry resumes after storm"
    assert document_from_bytes(b"The ferry sailed on Tuesday.\n\nIt was late.", "notes-3.txt").title == "notes 3"


def test_an_html_table_with_a_header_row_is_read_a_row_a_sentence():
    from qa.documents import html_to_text

    page = ("<table><thead><tr><th>City</th><th>Rain</th><th>Sun</th></tr></thead>"
            "<tr><td>Oslo</td><td>12 mm</td><td>3 h</td></tr><tr><td>Rome</td><td></td><td></td></tr></table>")
    assert html_to_text(page)[1] == "The Rain for Oslo is 12 mm. The Sun for Oslo is 3 h.\n\nRome."
    bare = "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>"
    assert html_to_text(bare)[1] == "a b\n\nc d"  # no header row: cells as they are
