"""The shape of a question, pure rules on its words: a fact asked for (answered by a span), a yes/no
question or a claim to check (answered by a verdict), why, how, "tell me more", what someone said,
how many, which ones. Questions about the whole article are told apart before these
(``qa.article_questions``); together they decide what was asked.

A rule takes a question only on words that say its shape: an auxiliary verb opening it (yes/no), a
tag or an opener that asks for a check ("…, right?", "I read that…"), "why", "how" not asking for a
quantity, "tell me more" or "explain", a verb of saying after "what did", "how many", and "which" or
"what are" before a plural. A question with none of them is a fact question, as before.

>>> [question_shape(q) for q in ("Did Austin meet Modi?", "Austin arrived on Monday, right?",
...     "Why did Austin visit India?", "How does the key work?", "How many tests were played?",
...     "Tell me more about the undersea domain", "What did Rajnath Singh tweet?",
...     "Which companies will build the engines?", "When did Austin arrive?", "How old is she?")]
['polar', 'claim', 'why', 'how', 'count', 'elaborate', 'quote', 'list', 'fact', 'fact']
>>> claim_of("Is it true that Austin arrived on Monday?")
'Austin arrived on Monday'
>>> topic_of("Tell me more about the undersea domain, please")
'the undersea domain'
"""

from __future__ import annotations

import re

from qa.text import question_form

FACT = "fact"
POLAR = "polar"
CLAIM = "claim"
WHY = "why"
HOW = "how"
ELABORATE = "elaborate"
QUOTE = "quote"
COUNT = "count"
LIST = "list"
SHAPES = (FACT, POLAR, CLAIM, WHY, HOW, ELABORATE, QUOTE, COUNT, LIST)
VERDICT_SHAPES = (POLAR, CLAIM)

_AUXILIARIES = (
    "did|does|do|is|are|was|were|has|have|had|can|could|will|would|should|shall|may|might|must|"
    "didn't|doesn't|don't|isn't|aren't|wasn't|weren't|hasn't|haven't|hadn't|can't|couldn't|won't|wouldn't|shouldn't"
)
_WH = r"what|what's|whats|who|who's|whom|whose|which|when|where|where's|why|how|how's"
# "According to the article, has Exxon been a good citizen?": the source named first, then the question.
_ACCORDING_TO = r"according to (?:the |this )?(?:article|story|report|text|piece|it)\W+"
_OPENS_WITH_AUXILIARY = re.compile(
    rf"^(?:(?:so|and|but|also|then|ok|okay|well|wait|hey|hmm|um)\W+|{_ACCORDING_TO})*(?:{_AUXILIARIES})\b"
)
# "…, right?", "…, wasn't it?", "…, correct?", "…, no?", "…, true?"
_CHECK_TAG = re.compile(
    rf"(?:,\s*(?:right|correct|true|no|yes|yeah|really|(?:{_AUXILIARIES})\s+(?:it|he|she|they|there|that|i|we|you)(?:\s+not)?)|"
    r"(?:,|\s)\s*(?:right|correct|is that (?:right|so|true|correct)|is that what (?:it|the article|the story) says|am i right|yes or no|true or false))\s*\??\s*$"
)
_CHECK_OPENER = re.compile(
    r"^(?:(?:so|and|but|also|ok|okay|well|wait|hey)\W+)*(?:is it (?:true|right|correct|the case) that|"
    r"(?:i|we) (?:read|heard|saw|was told|think|thought|believe|understand|gather)(?: that| somewhere that| somewhere)?|"
    r"(?:it says|apparently|supposedly|reportedly|so basically|am i right that|correct me if i'm wrong,? but|"
    r"true or false:?|fact check:?|check this:?|confirm:?|can you confirm(?: that)?|is it correct that)|"
    r"(?:so|and)\b(?!\s+(?:" + _WH + r")\b))\s*"
)
# "…if the answer is right?": "right" said of something, not a tag asking for a check.
_RIGHT_PREDICATE = re.compile(r"\b(?:is|was|are|were|be|been|being|seems?|looks?|got it|get it)\s+(?:right|correct|true)\s*\??\s*$")
_WH_ANYWHERE = re.compile(rf"\b(?:{_WH})\b")
# What a chat question may open with before what it asks: "so why…", "ok, how…".
_LEAD = r"^(?:(?:so|and|but|ok|okay|then|well)\W+)*"
_WHY = re.compile(_LEAD + r"(?:why\b|how come\b|what(?:'s| is| was| were) the (?:reason|cause|motive|point|purpose)|for what reason\b|what (?:made|caused|led|prompted|drove)\b)")
_HOW_QUANTITY = re.compile(
    _LEAD + r"how (?:many|much|old|long|far|big|large|tall|high|deep|often|soon|"
    r"fast|late|early|wide|heavy|small|close|frequently|severe|serious|bad|good|well|likely|important|hot|cold|"
    r"expensive|cheap|recent|quickly|rich|strong)\b"
)
_HOW = re.compile(_LEAD + r"(?:how\b|in what way\b|by what means\b|what (?:way|method)\b)")
# "How" asking for a state, a view or a verdict, answered by a word or a phrase, not a manner or
# means: "How did he feel?", "How does the article describe him?", "How has the market performed?",
# "How readily…" (11 of nyt_news_dev's 34 "how" questions, read by hand, are of these kinds).
_HOW_STATE = re.compile(
    _LEAD + r"how (?:readily\b|(?:do|does|did|would|will|might|could|should|has|have|had)\s+(?:\S+\s+){1,5}?"
    r"(?:feel|felt|describe|described|regard|regarded|view|viewed|rate|rated|characteri[sz]e|perform|performed|fare|fared)\b)"
)
# "How was the experience?", "How are the similarities…?": "how" and a form of "be" before a
# noun phrase with no verb in it asks how something is, not how it was done ("How was it done?").
_HOW_IS = re.compile(_LEAD + r"how (?:is|are|was|were)\s+(?P<rest>.+)$")
_VERB_FORM = re.compile(
    r"(?:ed|en|ing)$|^(?:made|built|done|known|held|paid|found|caught|taught|bought|brought|thought|sold|told|said|"
    r"kept|left|met|sent|spent|led|fed|won|lost|shot|hit|put|set|cut|run|seen|got|gotten|hurt|struck|chosen|"
    r"stolen|spread|split|shut|able|going|supposed|used)$"
)
_HOW_MANY_MONEY = re.compile(r"\bhow many (?:(?:u\.?s\.?|us|american|canadian|australian|hong kong) )?(?:dollars|euros|pounds|yen|yuan|rupees|francs|pesos)\b")
_HOW_MANY = re.compile(r"\bhow many\b|\bwhat (?:is|was|were|are) the (?:total )?number of\b|^count\b")
_ELABORATE = re.compile(
    r"\b(?:tell me (?:more|about|everything)|tell us (?:more|about)|more (?:detail|details|about|on|info|information)|"
    r"explain|(?<!\ban )(?<!\ba )(?<!\bthe )(?<!\bmore )(?<!\bmost )(?<!\bvery )(?<!\bso )elaborate|expand on|go on\b|what else\b|anything else\b|say more|details? (?:on|about|please)|"
    r"^(?:can you |could you |please )?(?:describe|unpack)\b|fill me in|walk me through|background on|what(?:'s| is) (?:the )?(?:story|deal) with)"
)
_SAYING_VERBS = (
    r"say|said|says|tell|told|tells|tweet|tweeted|tweets|write|wrote|writes|post|posted|posts|"
    r"claim|claimed|argue|argued|add|added|note|noted|state|stated|declare|declared|announce|announced|"
    r"insist|insisted|explain|explained|quote|quoted|respond|responded|reply|replied|comment|commented|"
    r"remark|remarked|warn|warned|exclaim|exclaimed|shout|shouted|admit|admitted|recall|recalled|testify|testified"
)
_QUOTE = re.compile(
    _LEAD + rf"what\s+(?:exactly\s+)?(?:did|does|do|has|have|had|would|will)\b"
    rf"(?:\s+\S+){{1,6}}?\s+(?:{_SAYING_VERBS})(?=[\s?,.!]|$)|"
    rf"\b(?:what(?:'s| is| was| were)|give me|share|show me)\s+(?:the\s+|his\s+|her\s+|their\s+)?(?:exact\s+)?(?:quote|quotes|words|tweet|tweets|statement|remarks?|comments?)\b|"
    rf"\bquote\b|\bin (?:his|her|their) (?:own )?words\b"
)
# Between "which" and its plural noun: a number or a word that picks among several.
_PICKS = r"(?:(?:two|three|four|five|six|seven|eight|nine|ten|several|other|different|main|key|specific|major|few|many|some|all|\d+)\s+)?(?:(?:kinds?|types?|sorts?) of\s+)?"
_AUX_AFTER = r"\s+(?:are|were|do|did|does|have|has|had|will|would|can|could|should|might|may|was|is)\b"
_PLURAL_ASK = re.compile(
    rf"^(?:(?:so|and|but|ok|okay|then|well|besides [^,]+,)\W*)*(?:which\s+(?:of (?:the|his|her|their|its|these|those)\s+)?{_PICKS}(?:(?P<noun>\w+s)\b|\w+\s+(?P<noun5>\w+s)(?={_AUX_AFTER}|\s+(?:mentioned|named|listed)))|"
    rf"what\s+{_PICKS}(?:\w+\s+)?(?P<noun4>\w+s)(?={_AUX_AFTER})|"
    rf"(?:what|who|which) (?:are|were) (?:the |all the |some of the )?{_PICKS}(?:\w+\s+)?(?P<noun2>\w+s)\b(?! of\b|')|"
    rf"(?:name|list) (?:the |all the |all |some )?{_PICKS}(?P<noun3>\w+s)\b|"
    r"who (?:are|were) (?:the )?(?:two|three|four|five|several|both)\b|who (?:all|else)\b)"
)
_ONE_KIND = re.compile(r"^(?:\W*\w+\W+){0,3}?(?:what|which) (?:kind|type|sort) of\b")
# "X or Y?": a choice, answered by one of them, not by a yes or a no.
_CHOICE = re.compile(r"\b\w+\s+or\s+(?:not\s+)?\w+")
# Words in -s that are no plural nouns.
_NOT_PLURAL = frozenset(
    "is was has does this its his hers yours ours theirs as us bus thus plus less unless news always perhaps "
    "series species means politics economics physics basis crisis analysis status process business success "
    "congress address access class glass boss loss press gas campus virus bonus census focus chaos "
    "whereas across various serious famous previous obvious numerous dangerous chances odds".split()
)
_TOPIC = re.compile(
    r"\b(?:tell (?:me|us) (?:more|a bit more|a little more|everything)?\s*(?:about|on|regarding)|more (?:detail|details|info|information)?\s*(?:about|on)|"
    r"explain|elaborate on|expand on|describe|background on|what(?:'s| is) (?:the )?(?:story|deal) with)\s+(?P<topic>.+?)"
    r"(?:[,.;!?]+\s*(?:please|thanks|thank you|tell me more|explain|more detail please|expand on that)?\W*)?$"
)
_TRAILING = re.compile(r"[\s,.;!?]*(?:please|thanks|pls)?[\s,.;!?]*$")


def _plain(question: str) -> str:
    """``qa.text.question_form`` (NFKC, one space) with straight apostrophes; case kept."""
    return question_form(question).replace("\u2019", "'").replace("\u2018", "'")


def normalized(question: str) -> str:
    """The question as the rules read it: ``_plain`` and lower case."""
    return _plain(question).lower()


def question_shape(question: str) -> str:
    """The shape of ``question`` (one of ``SHAPES``): what kind of reply it asks for."""
    text = normalized(question)
    if not text:
        return FACT
    if _ELABORATE.search(text) and not _HOW_MANY.search(text):
        return ELABORATE
    if _WHY.search(text):
        return WHY
    if _HOW_MANY.search(text):
        return FACT if _HOW_MANY_MONEY.search(text) else COUNT
    if said := _QUOTE.search(text):
        return QUOTE if _asks_for_words(said) else FACT
    if _HOW.search(text) and not _HOW_QUANTITY.search(text):
        return FACT if _HOW_STATE.search(text) or _asks_how_it_is(text) else HOW
    tagged = _CHECK_TAG.search(text) and not _RIGHT_PREDICATE.search(text)
    if tagged or _CHECK_OPENER.search(text) and not _OPENS_WITH_AUXILIARY.search(_strip_opener(text)):
        return CLAIM
    if _OPENS_WITH_AUXILIARY.search(text):
        return FACT if _CHOICE.search(text) and not text.rstrip("?").endswith(" or not") else POLAR
    if _is_plural_ask(text):
        return LIST
    if not _WH_ANYWHERE.search(text) and len(text.split()) >= 3 and not text.startswith(_IMPERATIVES):
        return CLAIM  # a bare statement: "Dawkins died at 62."
    return FACT


_IMPERATIVES = ("name ", "list ", "give ", "show ", "find ", "identify ", "summarize", "summarise", "define ")


def _is_plural_ask(text: str) -> bool:
    match = _PLURAL_ASK.search(text)
    if not match:
        return False
    noun = next((match.group(g) for g in ("noun", "noun2", "noun3", "noun4", "noun5") if match.group(g)), None)
    if _ONE_KIND.search(text):  # "What type of projections…?": one kind asked for
        return False
    return noun is None or (noun not in _NOT_PLURAL and not noun.endswith(("ss", "us", "is", "'s")))


# After "what did X say": words that set the scene of what was said ("… about the talks", "… when
# she saw him", "… in his interview"), not a clause of its own.
_SCENE = frozenset(
    "about on of regarding concerning to in at when after before during while as upon with from for this that "
    "there here then today yesterday tonight last first next afterwards later exactly".split()
)
_TELLING = frozenset("tell told tells warn warned ask asked remind reminded".split())
_CLAUSE_VERB = re.compile(rf"\b(?:{_AUXILIARIES}|not to)\b")


def _asks_for_words(said: re.Match) -> bool:
    """Whether a "what did X say…" question asks for the words said, not for a thing they were
    said about: "What did the officers say would be threatened?", "What did Gad say Madonna
    likes?" and "What did police warn him not to do?" ask for a fact (8 of nyt_news_dev's 19
    such questions, read by hand); "What did Strauss say about Cook?" and "What did Johnson say
    it's like…?" ask for their words.

    ``said`` is ``_QUOTE``'s match in the question.

    >>> _asks_for_words(_QUOTE.search("what did chase say")), _asks_for_words(_QUOTE.search("what did he claim was pulled out"))
    (True, False)
    """
    rest = said.string[said.end():].strip(" ?.!,").split()
    if not rest or not said.group(0).startswith(("what", "so", "and", "but", "ok", "then", "well")):
        return True
    verb = said.group(0).split()[-1]
    if verb in _TELLING:  # its object first: "tell reporters on Friday", "warn him not to do"
        return not _CLAUSE_VERB.search(" ".join(rest[1:]))
    return rest[0] in _SCENE or " ".join(rest[:2]) in ("it's like", "it is like", "it was like")


def _asks_how_it_is(text: str) -> bool:
    """ "How was the experience?" (how something is), not "How was it done?" (how it came about).

    >>> _asks_how_it_is("how was the minsk1 experience?"), _asks_how_it_is("how was the 2008 sodium study done")
    (True, False)
    """
    match = _HOW_IS.search(text)
    return bool(match) and not any(_VERB_FORM.search(w) for w in re.findall(r"[\w']+", match.group("rest")))


def _strip_opener(text: str) -> str:
    return _CHECK_OPENER.sub("", text, count=1)


def _cased(question: str) -> tuple[str, str]:
    """The question in its own letters and lowered, of the same length (so that a match in one
    is a slice of the other)."""
    text = _plain(question)
    lowered = text.lower()
    return (text, lowered) if len(text) == len(lowered) else (lowered, lowered)


def claim_of(question: str) -> str:
    """The claim a yes/no question or a check asks about: the question less its tag ("…, right?"),
    its opener ("I read that…") and its question mark, in the question's own letters."""
    text, lowered = _cased(question)
    if tag := _CHECK_TAG.search(lowered):
        text, lowered = text[: tag.start()], lowered[: tag.start()]
    if opener := _CHECK_OPENER.match(lowered):
        text = text[opener.end():]
    return text.strip().rstrip("?.!").strip(" ,")


def topic_of(question: str) -> str:
    """What a "tell me more" question asks about ("" when it names nothing: "Tell me more.")."""
    text, lowered = _cased(question)
    match = _TOPIC.search(lowered)
    return _TRAILING.sub("", text[match.start("topic"): match.end("topic")]) if match else ""

