"""The words an antonym swap needs: WordNet's antonyms (read straight from Debian's wordnet-base
files) and lemminflect's inflections, for ``qa.training.unanswerable``."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

WORDNET_DIR = Path("/usr/share/wordnet")  # Debian's wordnet-base


def wordnet_antonyms(wordnet_dir: Path = WORDNET_DIR) -> Callable[[str, str], list[str]]:
    """``antonyms(lemma, spacy_pos)``: WordNet's single-word antonyms of a lemma.

    Read straight from WordNet 3.0's ``data.*`` files: in a synset line, a pointer ``! OFFSET POS
    SSTT`` says that word SS of this synset is the antonym of word TT of the synset at OFFSET.
    """
    if not (wordnet_dir / "data.adj").exists():
        from qa.errors import DataError

        raise DataError(f"WordNet is not at {wordnet_dir}: install Debian's wordnet-base package")
    files = {"ADJ": "data.adj", "ADV": "data.adv", "VERB": "data.verb"}
    table: dict[tuple[str, str], list[str]] = defaultdict(list)
    for pos, name in files.items():
        synsets: dict[str, list[str]] = {}
        pointers: list[tuple[str, int, str, int]] = []
        for line in (wordnet_dir / name).read_text(encoding="latin-1").splitlines():
            if line.startswith("  "):  # the licence header
                continue
            fields = line.split(" ")
            count = int(fields[3], 16)
            # Adjective words may carry a marker such as "(a)": it is not part of the word.
            words = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).lower() for i in range(count)]
            synsets[fields[0]] = words
            at = 4 + 2 * count
            for p in range(int(fields[at])):
                symbol, offset, _, source_target = fields[at + 1 + 4 * p : at + 5 + 4 * p]
                if symbol == "!":
                    pointers.append((fields[0], int(source_target[:2], 16), offset, int(source_target[2:], 16)))
        for synset, source, offset, target in pointers:
            word, antonym = synsets[synset][source - 1], synsets[offset][target - 1]
            if "_" not in antonym and antonym not in table[pos, word]:
                table[pos, word].append(antonym)

    def antonyms(lemma: str, pos: str) -> list[str]:
        return table.get((pos, lemma), [])

    return antonyms


def lemminflect_inflection(lemma: str, tag: str) -> str | None:
    from lemminflect import getInflection

    forms = getInflection(lemma, tag)
    return forms[0] if forms else None
