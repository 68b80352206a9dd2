"""Questions to suggest for an article, made from the article itself: the page's "Try" examples and
its placeholder follow the article being asked.

No generative model runs here, so the questions are about the names the article mentions most:
"Who is X?" for a name that reads as a person's (a title before it, or "said" after it), "What is
X?" otherwise.

>>> suggested_questions("Police said Ana Silva met Mayor Tom Reed. Ana Silva said the Tamar Bridge opened.")
['Who is Ana Silva?', 'Who is Tom Reed?', 'What is the Tamar Bridge?']
"""

from __future__ import annotations

import re
from collections import Counter

# Runs of two to four capitalised words, with an inner "of", "de", ...: names of people and things.
_NAME = re.compile(r"\b[A-Z][\w-]+(?:\s+(?:(?:of|de|da|van|von|al|bin)\s+)?[A-Z][\w-]+){1,3}")
_TITLES = {
    "Mr", "Mrs", "Ms", "Dr", "President", "Minister", "Secretary", "Mayor", "Senator", "Governor",
    "General", "Judge", "Professor", "Chancellor", "King", "Queen", "Chief", "Captain", "Sir", "Prince",
}
# Capitalised words that start a sentence or a name without being part of it.
_NOT_NAMES = {"The", "A", "An", "This", "That", "In", "On", "At", "But", "And", "When", "After", "As", "For", "If"}
FALLBACK = ["What happened?", "Who is mentioned?", "Where did it happen?"]
EXAMPLE_QUESTIONS = [
    "What does INDUS-X aim at?",
    "When did the US Defence Secretary arrive in New Delhi?",
    "What are India and the US exploring co-producing?",
    "What is the budget of INDUS-X?",
]


def suggested_questions(text: str, count: int = 3) -> list[str]:
    """Up to ``count`` questions about the names ``text`` mentions most (FALLBACK when it names none)."""
    mentions: Counter[str] = Counter()
    as_person: Counter[str] = Counter()  # after a title, or before "said"
    as_thing: Counter[str] = Counter()  # after "the"
    for match in _NAME.finditer(text):
        words = match.group().split()
        if "The" in words[1:]:  # "Yet The Daily Mail": the name starts at "The"
            words = words[words.index("The", 1) :]
        titled = [i for i, word in enumerate(words) if word in _TITLES]
        if titled:  # "Defence Minister Rajnath Singh": the name after the title is a person's
            words = words[titled[-1] + 1 :]
            if words and words[0].islower():  # "Secretary of Defence ...": not a name yet
                words = []
        while words and words[0] in _NOT_NAMES:
            words = words[1:]
        if len(words) < 2:
            continue
        name = " ".join(words)
        mentions[name] += 1
        if titled or re.match(r"\s*,?\s+(?:said|says|told|added|tweeted|wrote)\b", text[match.end() :]):
            as_person[name] += 1
        if text[max(0, match.start() - 4) : match.start()].lower() == "the ":
            as_thing[name] += 1
    questions: list[str] = []
    chosen: list[str] = []
    for name, _ in mentions.most_common():
        if any(name in other or other in name for other in chosen):
            continue
        if as_person[name] > as_thing[name]:
            questions.append(f"Who is {name}?")
        elif as_thing[name]:
            questions.append(f"What is the {name}?")
        else:  # a place, or a name read in no telling context: no question to suggest
            continue
        chosen.append(name)
        if len(questions) == count:
            break
    return questions or FALLBACK[:count]
