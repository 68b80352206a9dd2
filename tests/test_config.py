"""One configuration tree (qa.config): its defaults, a TOML file that changes them, read alike by
``Assistant``, the page's server and every ``qa`` command; a file that can't be used is told in a
sentence."""

from __future__ import annotations

import dataclasses
import re

import pytest
from conftest import HashingEmbedder, fake_reader
from hypothesis import given
from hypothesis import strategies as st

from qa.cli import main
from qa.config import ConfigError, CorpusSettings, Settings, load_settings, settings_from_toml
from qa.pipeline import Assistant


def test_a_file_changes_only_what_it_names_at_any_depth():
    settings = settings_from_toml(
        "[server]\nport = 8080\n[retrieval]\narchive_dense_weight = 1\n[article_index.chunking]\nwindow_sentences = 2\noverlap_sentences = 1\n"
    )
    assert settings.server == dataclasses.replace(Settings().server, port=8080)
    assert settings.retrieval.archive_dense_weight == 1.0 and isinstance(settings.retrieval.archive_dense_weight, float)
    assert (settings.article_index.chunking.window_sentences, settings.article_index.chunking.overlap_sentences) == (2, 1)
    assert settings.article_index.chunk_vectors == "window-text"  # the article's own default kept beside the change
    assert settings.archive_index == Settings().archive_index and settings.ingest == Settings().ingest


@pytest.mark.parametrize(("text", "says"), [
    ("[retrieval]\ntopk = 5\n", "[retrieval] has no setting 'topk': its settings are top_k,"),
    ("[sever]\nport = 1\n", "the configuration has no setting 'sever'"),
    ("[server]\nport = \"8080\"\n", "server.port must be a whole number, not '8080'"),
    ("[server]\nport = true\n", "server.port must be a whole number, not True"),
    ("retrieval = 3\n", "retrieval is a table of settings ([retrieval]), not 3"),
    ("[article_index.chunking]\nwindow_sentences = 2\n", "[article_index.chunking]: need 0 <= overlap_sentences < window_sentences"),
    ("[article_index]\nchunk_vectors = \"mean\"\n", "[article_index]: chunk_vectors must be one of"),
    ("[server\nport = 1\n", "not valid TOML"),
])
def test_a_setting_or_value_that_does_not_exist_is_named(text, says):
    with pytest.raises(ConfigError, match="^" + re.escape(says)):
        settings_from_toml(text)


@given(st.text(max_size=200))
def test_any_text_is_settings_or_a_config_error(text):
    try:
        assert isinstance(settings_from_toml(text), Settings)
    except ConfigError as error:
        assert str(error)


def test_the_environment_names_the_file_and_an_unreadable_one_is_said(tmp_path, monkeypatch):
    assert load_settings() == Settings()
    path = tmp_path / "qa.toml"
    path.write_text("[retrieval]\ntop_k = 5\n")
    monkeypatch.setenv("QA_CONFIG", str(path))
    assert load_settings().retrieval.top_k == 5
    with pytest.raises(ConfigError, match="can't read the configuration file .*missing.toml"):
        load_settings(tmp_path / "missing.toml")
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="binary.toml"):
        load_settings(tmp_path / "binary.toml")


def test_an_assistant_reads_the_tree(tmp_path, monkeypatch):
    path = tmp_path / "qa.toml"
    path.write_text("[retrieval]\ntop_k = 1\n[library]\nloaded_chars_budget = 123\n[article_index]\nbm25_bigrams = true\n")
    monkeypatch.setenv("QA_CONFIG", str(path))
    reader, _ = fake_reader("Sunday")
    assistant = Assistant(tmp_path / "index", reader=reader, embedder=HashingEmbedder())
    assert assistant.settings.library.loaded_chars_budget == 123
    assert assistant.library.retriever.settings.top_k == 1
    assert assistant.store.settings == CorpusSettings(chunk_vectors="window-text", bm25_bigrams=True)
    given_here = Assistant(tmp_path / "index", reader=reader, embedder=HashingEmbedder(), settings=Settings())
    assert given_here.settings == Settings()  # an explicit tree wins over the environment


def test_the_command_line_refuses_a_bad_file_in_a_sentence(tmp_path, capsys):
    path = tmp_path / "qa.toml"
    path.write_text("[server]\nprot = 8080\n")
    assert main(["--config", str(path), "ask", "Who?"]) == 2
    assert capsys.readouterr().err == f"error: {path}: [server] has no setting 'prot': its settings are host, port\n"
