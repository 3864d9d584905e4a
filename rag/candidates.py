"""Answer candidates in a sentence: the people, places, organisations, dates and amounts it
names, found by the shapes news text writes them in.

Rules rather than a tagger: this runs over every candidate passage of every question, and
spaCy's English pipelines are not published on PyPI by their maintainers (only third-party
re-uploads), so a tagger would be a model this machine cannot fetch from a maintained source.
Results are cached per text, since passages recur across questions.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from rag.ingest import split_sentences
from rag.keyword import STOPWORDS, terms
from rag.query import (
    BY_YEAR,
    CITY,
    COUNT,
    DATE,
    DURATION,
    LENGTH,
    MONEY,
    NUMBER,
    ORG,
    PERCENT,
    PERSON,
    PERSON_NOUNS,
    PLACE,
    SOMEONE,
    WEIGHT,
    WORK,
    Query,
    spans,
)

NAME = "name"  # a proper name whose kind the text does not show
NAMED = frozenset({PERSON, PLACE, ORG, NAME})  # the kinds a name is found as

_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?")
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}"
    rf"(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{4}}|(?:early|mid|late)[- ]\d{{4}}|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}|"
    rf"{_WEEKDAY}|(?:1[89]|20)\d\d(?:s)?|(?:in|since|by|until|from)\s+{_MONTH})\b")
_SCALE = (r"(?:million|billion|trillion|bn|mn|m|k|thousand|hundred|per\s?cent|percent|%|"
          r"percentage points?)")
_UNIT = (r"(?:km|kilometres?|kilometers?|miles?|metres?|meters?|kg|kilograms?|tonnes?|tons?|points?|"
         r"goals?|votes?|seats?|people|years?|months?|weeks?|days?|hours?|minutes?|seconds?|"
         r"euros?|dollars?|pounds?|yen|yuan|francs?|rupees?|runs?|wickets?|laps?|medals?|"
         r"degrees?|units?|vehicles?|cars?|jobs?|shares?|barrels?|visitors?|fans?|copies|games?)")
_NUMBER_WORD = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
                r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|"
                r"sixty|seventy|eighty|ninety|hundred|thousand|dozen|half|a third|a quarter)")
_NUMBER = re.compile(
    rf"(?:[$€£¥]\s?\d[\d,]*(?:\.\d+)?(?:\s*{_SCALE})?"
    rf"|\b\d[\d,]*(?:\.\d+)?(?:\s*(?:{_SCALE}|{_UNIT})\b|%)"
    rf"|\b\d[\d,]*(?:\.\d+)?\b"
    rf"|\b{_NUMBER_WORD}(?:[\s-]{_NUMBER_WORD})*(?:\s+(?:{_SCALE}|{_UNIT}))?\b)",
    re.I)
_ONE_OF = re.compile(r"one\s+of\b", re.I)  # "one of the most expensive": a choice, not an amount
_YEAR_ONLY = re.compile(r"^(1[89]|20)\d\ds?$")
# A run of capitalised words, allowing the small words names contain ("Bank of England").
_NAME_RUN = re.compile(
    r"(?<![\w’'])(?:[A-Z][\w’'.&-]*|al-[A-Z][\w-]*)"
    r"(?:\s+(?:(?:of|de|del|da|di|van|von|der|den|la|le|du|bin|and|&)\s+)?(?:[A-Z][\w’'.&-]*))*")
_ORG_END = frozenset(
    """Inc Corp Corporation Co Ltd plc PLC AG SA SE NV LLC Group Holdings Bank Fund Capital
    Partners Motors Airlines Airways Energy Oil Pharma Pharmaceuticals Technologies Systems
    Labs Media Studios Records Entertainment Foundation Institute University College Agency
    Ministry Department Commission Council Committee Parliament Assembly Court Party Union
    Federation Association League Club FC United City Rovers Athletic Police Army Navy Force
    Exchange Network Times Post Journal News Press Games Cup Organisation Organization
    Authority Service Office Board Trust Alliance Coalition""".split())
_PERSON_TITLES = frozenset(
    """President Minister Chancellor Premier Senator Governor Mayor Judge Justice Dr Mr Mrs Ms
    Prof Professor Sir Dame Lord Lady King Queen Prince Princess Pope General Gen Colonel Captain
    Coach Rep Sen CEO Chief Chairman Chairwoman Secretary Ambassador Commissioner Director
    Striker Midfielder Defender Goalkeeper Forward Champion Manager Founder""".split())
# A person's role or job just before their name ("the botanist Maricel Dizon", "led by ...").
_PERSON_BEFORE = re.compile(
    r"(?:\b(?:" + "|".join(sorted(PERSON_NOUNS | {"chief executive", "chair", "star", "veteran", "rookie",
                                                  "named", "appointed", "elected"}, key=len, reverse=True))
    + r"|(?:led|chaired|headed|directed|written|founded|coached|presented|painted|composed) by"
    # "the men's doubles title went to Paulo Arendse": a winner, not a destination
    + r"|(?:title|prize|award|trophy|medal|crown|gold|silver|bronze)\s+(?:went|goes|has gone|was awarded|"
      r"was given|was presented|was handed) to)\s*,?\s*)$",
    re.I)
_PERSON_AFTER = re.compile(r"^(?:,\s*(?:who|the|a|an|\d{2})\b|\s+(?:(?:was|is|has been|had been)\s+"
                           r"(?:elected|appointed|named|chosen|sworn|re-elected)|said|says|told|added|won|scored|"
                           r"wrote|argued|announced|resigned|became)\b)")
_PLACE_BEFORE = re.compile(r"\b(?:in|at|from|to|near|outside|across|into|toward|towards|"
                           r"hosted by|held in|capital|city of)\s+(?:the\s+)?$", re.I)
# "Liepāja will host", "Toruń staged": what hosts an event is a place.
_HOSTS = re.compile(
    r"\s+(?:will\s+|would\s+|is\s+to\s+|also\s+)?(?:host|hosts|hosted|hosting|stage|stages|staged)\b")
# "chose Trnava in Slovakia": a name placed in a country is a place in it
_IN_COUNTRY = re.compile(r",?\s+in\s+(?:the\s+)?([A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*)")


def _in_country(after: str) -> bool:
    m = _IN_COUNTRY.match(after)
    return bool(m) and m.group(1) in _countries()


# Prepositions that put a place, never a person, after them: "signed at the Palacio de Torre
# Tagle, the seat of ..." is a place although an appositive follows it as it follows a person.
_AT_PLACE = re.compile(r"\b(?:in|at|near|outside|across|into|inside|held in|city of)\s+(?:the\s+)?$", re.I)
_SENTENCE_STARTERS = frozenset(
    """The A An In On At After Before During Since For From By With Without As When While Where
    But And Or So Yet If Although Though This That These Those It Its Their His Her Our Last
    Next Earlier Later Meanwhile However Instead Despite Under Over According Then Now Today
    Yesterday Officials Analysts Shares Sales Revenue Critics Fans Supporters Every Each All Some
    Many Most Few Several No Not Both We They He She You There Here What Who How Why Once Only
    Even Also Still Just""".split())


@dataclass(frozen=True)
class Candidate:
    kind: str  # PERSON | PLACE | ORG | NAME | DATE | NUMBER
    text: str
    start: int
    end: int
    terms: frozenset[str]
    units: frozenset[str] = frozenset()  # for an amount: what it counts (MONEY, PERCENT, ...)


# Units, as written inside an amount or right around it ("SEK 61.3 billion", "44 billion dollar").
_CURRENCY = (r"[$€£¥₹]|\bR(?=\s?\d)|\bRs\.?(?=\s?\d)|"
             r"\b(?:dollars?|euros?|pounds?|sterling|kronor|krona|kroner|crowns?|yen|yuan|renminbi|"
             r"francs?|rupees?|pesos?|reais|lira|zlotys?|forints?|korunas?|hryvnias?|baht|ringgit|rupiah|"
             r"dinars?|roubles?|rubles?|shekels?|dirhams?|riyals?|"
             r"USD|EUR|GBP|SEK|NOK|DKK|CHF|JPY|CNY|INR|AUD|CAD|HKD|SGD|NZD|BRL|MXN|ZAR|KRW|PLN)\b")
_UNIT_PATTERNS = {
    MONEY: re.compile(_CURRENCY),
    PERCENT: re.compile(r"%|\b(?:per\s?cent|percent|percentage points?|basis points|bps)\b", re.I),
    WEIGHT: re.compile(r"\b(?:kg|kilos?|kilograms?|grams?|tonnes?|tons?|lbs?|pounds?)\b", re.I),
    LENGTH: re.compile(r"\b(?:km|kilometres?|kilometers?|miles?|metres?|meters?|m|feet|foot|ft|cm|yards?)\b",
                       re.I),
    DURATION: re.compile(r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b|"
                         r"\b\d{1,2}:\d\d(?::\d\d)?\b", re.I),
}


_CLOCK = re.compile(r"\d{1,2}:\d\d")
# one word may stand between an amount and its unit: "1.5 million Swedish kronor", "two and a
# half hours", "three more days"
_NEXT_WORD = re.compile(r"^[\s-]*(?:and a half\s+|[^\W\d_]+\s+)?")
_FRACTION = re.compile(r"\b(?:half|halves|thirds?|quarters?|fifths?|tenths?)\b", re.I)  # of a whole


def _units(text: str, s: int, e: int) -> frozenset[str]:
    """The units of the amount at text[s:e]: in it, in the word or two after it, or a currency
    code just before it."""
    inside, after, before = text[s:e], text[e:e + 24], text[max(0, s - 5):s]
    out = set()
    nxt, right_after = _NEXT_WORD.sub("", after, count=1), after.lstrip(" -")
    for unit, pat in _UNIT_PATTERNS.items():
        if pat.search(inside) or pat.match(nxt) or pat.match(right_after):
            out.add(unit)
    if _FRACTION.search(inside) or _FRACTION.match(after.lstrip(" -")):
        out.add(PERCENT)
    if _UNIT_PATTERNS[MONEY].search(before):
        out.add(MONEY)
    if _CLOCK.match(text, s):  # a race time, "2:06:41"
        out.add(DURATION)
    return frozenset(out)


# A dateline opens an article: "KOUROU, French Guiana —", "LIMA —".
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]+(?:,\s*[A-Z][\w .'-]+)?\s+[—–-]")


# Places every news text names without a preposition before them ("signed by Peru, Chile and
# Ecuador"), which the shapes below cannot tell from people.
_PLACE_ALIASES = frozenset(
    "Russia,Britain,Great Britain,England,Scotland,Wales,Northern Ireland,America,UK,US,USA,Europe,"
    "Africa,Asia,Oceania,Antarctica,Arctic,Middle East,Latin America,Gaza,West Bank,Kosovo".split(","))


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    import pycountry  # lazily: its database is read on first use (~7 ms), not at import

    names = {getattr(c, a, None) for c in pycountry.countries for a in ("name", "common_name")}
    return frozenset(n for n in names if n and "," not in n) | _PLACE_ALIASES


# Adjectives of place ("a senior Ecuadorian official") say where, never who: the regular ones
# extend a country's name ("Ecuador" → "Ecuadorian"), these don't.
_DEMONYMS = frozenset("""Danish Swedish Finnish Dutch French British English Scottish Welsh Irish Spanish
    Polish Swiss Filipino Emirati Flemish Basque Catalan Galician Kurdish Scandinavian Nordic Baltic
    Arab Saudi Latino European African Asian American Arctic""".split())
_DEMONYM_END = re.compile(r"(?:n|an|ian|ean|ese|ish|i|ic|ch|ine)$")


@lru_cache(maxsize=1)
def _country_stems() -> frozenset[str]:
    return frozenset(n[:4].lower() for n in _countries() if " " not in n and len(n) >= 4)


def _demonym(word: str) -> bool:
    return word in _DEMONYMS or (len(word) >= 5 and word[:4].lower() in _country_stems()
                                 and bool(_DEMONYM_END.search(word)) and word not in _countries())


_POSSESSIVE = re.compile(r"['’]s?$")


def _country(surface: str) -> bool:
    return _POSSESSIVE.sub("", surface) in _countries() or (" " not in surface and _demonym(surface))


def _name_kind(text: str, s: int, e: int, surface: str) -> str:
    if all(part in _countries() for part in re.split(r"\s+(?:and|&)\s+", _POSSESSIVE.sub("", surface))):
        return PLACE  # "Ecuador and Colombia", "Peru's" too
    if " " not in surface and _demonym(surface):
        return PLACE
    toks = surface.split()
    before, after = text[max(0, s - 40):s], text[e:e + 20]
    dateline = _DATELINE.match(text) if s < 40 else None
    if dateline and e <= dateline.end():
        return PLACE
    if toks[-1].strip(".,") in _ORG_END or (toks[0] in _ORG_END and "of" in toks) \
            or (surface.isupper() and len(surface) > 1 and "." not in surface):
        return ORG
    if toks[0] in _PERSON_TITLES and len(toks) > 1 or any(t in _PERSON_TITLES for t in toks[1:-1]):
        return PERSON  # "Russian President Vladimir Putin" too
    if _PERSON_BEFORE.search(before):
        return PERSON
    if _AT_PLACE.search(before):
        return PLACE
    if len(toks) >= 2 and _PERSON_AFTER.match(after):
        return PERSON
    if _PLACE_BEFORE.search(before) or _HOSTS.match(after) or _in_country(text[e:e + 40]):
        return PLACE
    return NAME


def _names(text: str) -> list[Candidate]:
    out = []
    for m in _NAME_RUN.finditer(text):
        toks = list(re.finditer(r"\S+", m.group(0)))
        # a capitalised sentence opener ("The", "After") is not part of the name
        while toks and (toks[0].group(0) in _SENTENCE_STARTERS or toks[0].group(0).lower() in STOPWORDS):
            toks.pop(0)
        if not toks or re.fullmatch(f"{_MONTH}|{_WEEKDAY}", toks[0].group(0)):
            continue
        for i, (s, e) in enumerate(_split_of(text, m.start() + toks[0].start(), m.end())):
            surface = text[s:e]
            # what follows the whole run tells the first part's kind ("Meseret Dagne of Ethiopia
            # won"), not the second's
            kind = _name_kind(text, s, m.end(), surface) if i == 0 else _name_kind(text[:e], s, e, surface)
            out.append(Candidate(kind, surface, s, e, frozenset(terms(surface))))
    return out


_OF = re.compile(r"\s+of\s+")


def _split_of(text: str, s: int, e: int) -> list[tuple[int, int]]:
    """A person of a team or a firm is two names ("Saoirse Delacourt of Halvane Racing"); one word
    of something ("Bank of England", "University of Porto") or a firm's ("Royal Bank of Scotland")
    is one."""
    m = _OF.search(text, s, e)
    if not m:
        return [(s, e)]
    before = text[s:m.start()].split()
    if len(before) < 2 or any(w.strip(".,") in _ORG_END for w in before):
        return [(s, e)]
    return [(s, m.start()), (m.end(), e)]


@lru_cache(maxsize=16384)
def candidates(text: str) -> tuple[Candidate, ...]:
    """Every candidate in text, in order of position."""
    found = [Candidate(DATE, m.group(0), m.start(), m.end(), frozenset(terms(m.group(0))))
             for m in _DATE.finditer(text)]
    taken = [(c.start, c.end) for c in found]

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for m in _NUMBER.finditer(text):
        if free(m.start(), m.end()) and not _YEAR_ONLY.match(m.group(0).strip()) \
                and not _ONE_OF.match(text, m.start()):
            found.append(Candidate(NUMBER, m.group(0), m.start(), m.end(), frozenset(terms(m.group(0))),
                                   _units(text, m.start(), m.end())))
            taken.append((m.start(), m.end()))
    found += [c for c in _names(text) if free(c.start, c.end)]
    return tuple(sorted(found, key=lambda c: c.start))


_FIT = {  # how well a candidate of each kind answers each asked type
    PERSON: {PERSON: 1.0, NAME: 0.7, ORG: 0.6},
    ORG: {ORG: 1.0, NAME: 0.7, PLACE: 0.5, PERSON: 0.2},
    WORK: {NAME: 1.0, ORG: 0.6, PERSON: 0.4, PLACE: 0.3},  # titles show no kind of their own
    PLACE: {PLACE: 1.0, NAME: 0.5, ORG: 0.2},
    DATE: {DATE: 1.0},
    NUMBER: {NUMBER: 1.0},
}


_MEASURED = frozenset({MONEY, PERCENT, WEIGHT, LENGTH, DURATION})  # not a count of things
OTHER_UNIT = 0.4  # an amount, but of another unit than the one asked for
WEEKDAY_ONLY = 0.8  # a date without its year
_HAS_YEAR = re.compile(r"\b(?:1[89]|20)\d\d")


def fit(asked: str | None, cands: tuple[Candidate, ...], asked_terms: frozenset[str] | set[str],
        unit: str | None = None) -> float:
    """How well the best candidate of a text answers a question asking for `asked` (in `unit`,
    for an amount); a candidate the question itself names ("Tesla" in "What was Tesla's
    revenue?") doesn't count."""
    if asked is None:
        return 0.0
    table = _FIT[asked]
    best = 0.0
    for c in cands:
        w = table.get(c.kind, 0.0)
        if unit and c.kind == NUMBER and (c.units & _MEASURED if unit == COUNT else unit not in c.units):
            w = OTHER_UNIT
        elif asked == DATE and c.kind == DATE and not _HAS_YEAR.search(c.text):
            # "on Tuesday" says when, but less than "1 April 2025"; it can't say which year
            w = OTHER_UNIT if unit == BY_YEAR else WEEKDAY_ONLY
        elif asked == PERSON and c.kind == ORG and unit == SOMEONE:
            w = OTHER_UNIT  # "who scored" is not answered by the club
        elif asked == PERSON and c.kind == NAME and " " not in c.text.strip():
            w = OTHER_UNIT  # a lone word of unknown kind ("Kettunen", "Halvard") is not shown to be a person
        elif asked == PLACE and c.kind in (PLACE, NAME) \
                and (_POSSESSIVE.search(c.text) or (" " not in c.text and _demonym(c.text))
                     or unit == CITY and _country(c.text)):
            # "Moscow's efforts" names a government and "Chinese leader" a nationality, not where;
            # a country is not the city asked for
            w = OTHER_UNIT
        own = c.terms if c.kind != NUMBER else {t for t in c.terms if t[:1].isdigit()}
        if own & asked_terms:
            # the question's own name or figure, or a longer form of it ("Shareholders of Penwick
            # Foods"); an amount's counted noun is no such thing ("118,400 vehicles" for "how many
            # vehicles")
            w = 0.0 if own <= asked_terms else w / 2
        best = max(best, w)
    return best


@dataclass(frozen=True)
class Sentence:
    text: str
    terms: frozenset[str]
    candidates: tuple[Candidate, ...]


@lru_cache(maxsize=16384)
def sentences(text: str) -> tuple[Sentence, ...]:
    return tuple(Sentence(s, frozenset(terms(s)), candidates(s)) for s in split_sentences(text))


# A sentence saying the fact is still to come answers no question about it, whatever it asks:
# "winner to be announced in December", "junior girls' final to be played on Sunday", "results
# expected in 2026", "analysis to follow", "the appeal court has not set a date".
_UNSET = r"\bstill recruiting\b|\b(?:has|have|had) not (?:yet )?(?:set|fixed|scheduled) a date\b"
_NOT_YET = re.compile(
    r"\bto be (?:named|announced|decided|published|confirmed|played|held|awarded|revealed|released|"
    r"determined|heard|settled|chosen|selected|unveiled)\b|"
    r"\b(?:results?|data|findings|verdict|ruling|decision|readout|figures?)\s+(?:is\s+|are\s+)?"
    r"(?:expected|due)\s+(?:in|by|on|later|next|early|this|before|after)\b|"
    r"\b(?:analysis|results?|data|figures?|count|verdict|ruling|decision) (?:is |are )?to follow\b|"
    + _UNSET, re.I)
# asked when or where a coming event is (`Query.scheduled`), only a date not yet set answers nothing
_NOT_SET = re.compile(_UNSET, re.I)

# "the first edition of the race to be held mostly in darkness": a first, not a plan
_FIRST_TO_BE = re.compile(
    r"\b(?:first|last|only|second|third|latest|youngest|oldest)\b(?:\s+[\w'’-]+){0,6}\s*$", re.I)


_CLAUSE = re.compile(r";|\s[—–]\s")


def not_yet(query: Query, text: str) -> bool:
    """The sentence says the asked fact is still to come, in a clause not about the other sex's
    event: "the boys' title goes to Rafe Dunmore; the girls' final to be played on Sunday" has
    the boys' champion. Asked when or where a coming event is, only a date not yet set counts:
    "to be held in Venlo" says where."""
    pending = _NOT_SET if query.scheduled else _NOT_YET
    if query.tentative or not pending.search(text):
        return False
    return any(not _FIRST_TO_BE.search(c[:m.start()])
               for c in _CLAUSE.split(text) if not _other_sex(query, c)
               for m in pending.finditer(c))


# Talks that failed, a vote put off: the act asked about did not happen, wherever in the
# sentence that is said ("debates a moratorium; vote postponed")
_UNDONE = re.compile(
    r"\bno (?:deal|agreement|decision) (?:was |has been |had been )?reached|"
    r"\b(?:vote|decision|ruling) (?:was |has been |had been )?(?:postponed|delayed|deferred)|"
    r"\b(?:postponed|delayed|deferred) (?:the|a|its) (?:vote|decision|ruling)\b")


# A sentence that states an act as wanted, weighed or possible ("said it was interested in
# buying", "is in early talks about a possible offer") doesn't say it happened.
_TENTATIVE = re.compile(
    r"\b(?:interested in|in (?:early |advanced |exclusive )?talks|considering|"
    r"(?<!held )(?<!hold )(?<!holds )talks (?:to|about|over|with)|"  # not talks that were held
    r"exploring|weighing|hopes? to|hoping to|plans? to|planning to|intends? to|aims? to|seeks? to|seeking|"
    r"sought|wants? to|looking to|eyeing|open to|rumou?red|(?<![Ii]n a )bid to|"  # not "in a bid to"
    r"said to be|possible (?:offer|bid|deal)|"
    # a forecast, a poll or a shortlist is not the result: "analysts expect", "Preview:",
    # "bookmakers make ... favourite to win", "winner to be named in November" (not "forecast"
    # alone: results beat forecasts)
    r"[Pp]review|[Pp]oll:|[Oo]pinion polls?|polls? (?:shows?|suggests?|found|finds|puts?|gives?|gave|of|by)|"
    r"analysts expect|expected to (?:report|win|be named|vote|approve|ratify|decide|rule|sign|appoint)|"
    r"expect(?:s|ed)?\s+(?:about\s+|around\s+|some\s+|up to\s+)?(?=[\d£$€])|"
    # a headline's "council to decide" is a decision to come
    r"(?:council|parliament|board|court|regulator|committee|ministers|government|shareholders|voters|"
    r"lawmakers|judges|jury) to (?:decide|vote|rule|consider|review|approve|debate)|"
    r"favourites? to|odds|in contention|"
    # being on a shortlist, not beating the rest of it ("five other books on the shortlist")
    r"(?<!books on the )(?<!novels on the )(?<!titles on the )(?<!others on the )(?<!rest of the )shortlist"
    r")\b")

# Where a sentence divides into parts that may state different things: a relative clause or an
# apposition between commas ("Petra Lund, who had been in talks with three clubs, signed for Ostara
# FC"), a clause joined by a conjunction ("reported a net profit of 1.4 billion euros, and said it
# plans to buy back shares")
_PART = re.compile(r",\s+(?:who|which|whose|whom|the|a|an)\b[^,;]*,|,\s+(?:and|but|while|whereas)\b|;")


def _pieces(divider: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """The spans of `text` between the dividers, the dividers' own spans among them (an aside is
    a piece of its own)."""
    bounds = [0, *(x for m in divider.finditer(text) for x in (m.start(), m.end())), len(text)]
    return [(a, b) for a, b in itertools.pairwise(bounds) if a < b]


def _tentative(query: Query, text: str) -> bool:
    """The sentence states the asked act as wanted, weighed or possible, in a part of it that holds
    more of the question's words than the parts stating no plan."""
    if _UNDONE.search(text):
        return True
    if not _TENTATIVE.search(text):
        return False
    parts = [text[a:b] for a, b in _pieces(_PART, text)]
    planned = " ".join(p for p in parts if _TENTATIVE.search(p))
    stated = " ".join(p for p in parts if not _TENTATIVE.search(p))
    held = len(query.focus & set(terms(stated)))
    return not held or held < len(query.focus & set(terms(planned)))


# A sentence saying the asked fact was withheld ("did not give an investment figure", "no date has
# been set", "a company official who declined to be named") gives a figure, date or name of
# something else, if any. (Not "unnamed" or "on condition of anonymity": those hide who spoke, not
# the fact spoken of.)
_WITHHELD = {
    NUMBER: r"undisclosed|(?:did not|didn't|does not|doesn't|declined to|would not|wouldn't|refused to)"
            r"\s+(?:disclose|give|reveal|provide|say how much|put a (?:figure|price|value))|"
            r"not (?:been )?(?:disclosed|revealed|made public)|without (?:disclosing|giving) (?:a|the|any)|"
            # "officials have not published ridership figures for the opening weekend"
            r"(?:has|have|had|did) not (?:yet )?(?:published|released|disclosed|given) (?:\w+ ){0,3}figures?|"
            r"no (?:\w+ )?figures? (?:was|were|has been|have been|had been) (?:given|disclosed|released)|"
            # "the official figure will be published after an audit": an estimate so far
            r"(?:official|final|certified) (?:figure|count|number|total|result)s? "
            r"(?:will|would|is to|are to|is due to) be (?:published|released|announced|given|confirmed)",
    DATE: r"no date (?:has|had|was|is) (?:yet )?(?:been )?(?:set|fixed|given|announced)|"
          r"(?:did not|didn't|declined to|would not|wouldn't) say when|yet to (?:set|fix|announce) a date|"
          r"date (?:has|had|is|was) (?:yet to be|not (?:yet )?been) (?:set|fixed|announced)",
    PERSON: r"(?:did not|didn't|declined to|would not|wouldn't|refused to) (?:name|identify)|"
            r"(?:has|have|had) not (?:yet )?been (?:named|identified)|yet to (?:be named|name|appoint)",
}
_WITHHELD[PERSON] += (r"|no (?:\w+ )?(?:name|names|winner|buyer|bidder|successor|candidate) "
                      r"(?:was |were |has been )?(?:named|given|disclosed|identified|announced)")
_WITHHELD[ORG] = (_WITHHELD[PERSON] + "|undisclosed (?:buyer|bidder|investor|party|partner|company)"
                  r"|no (?:\w+ )?(?:manufacturer|maker|supplier|company|firm|partner|club|team) "
                  r"(?:was |were |has been )?(?:named|given|disclosed|identified|chosen)")
_WITHHELD_RE = {kind: re.compile(rf"\b(?:{pattern})\b", re.I) for kind, pattern in _WITHHELD.items()}


def withheld(query: Query, text: str) -> bool:
    if query.answer_type == NUMBER and query.unit not in (None, MONEY):
        return False  # an undisclosed price leaves the jobs a plant creates said
    pattern = _WITHHELD_RE.get(query.answer_type or "")
    return bool(pattern and pattern.search(text) and not pattern.search(query.text))


# Women's and men's events are reported apart; news names the men's race plainly ("X wins the
# marathon"), the women's by its name or its winner's pronoun.
_WOMENS_EVENT = re.compile(r"\b(?:women|ladies)(?:'s|’s|')|\bgirls\b", re.I)
_MENS_EVENT = re.compile(r"\bmen(?:'s|’s|')|\bboys\b", re.I)
_WOMEN = re.compile(r"\b(?:women|woman|female|ladies|girls|she|her|WTA|LPGA|WNBA)\b", re.I)
_MEN = re.compile(r"\b(?:men|man|male|boys|he|his|ATP|NBA)\b", re.I)

# an award's two categories: "best actress Noor Haddington" does not say who was best actor
_ACTOR, _ACTRESS = re.compile(r"\bactors?\b", re.I), re.compile(r"\bactress(?:es)?\b", re.I)
_SEX_PAIRS = ((_WOMENS_EVENT, _MENS_EVENT), (_MENS_EVENT, _WOMENS_EVENT),
              (_ACTOR, _ACTRESS), (_ACTRESS, _ACTOR))

# Juniors, doubles and the like are events of their own; a question naming none asks about the
# main event.
_CATEGORIES = tuple(re.compile(p, re.I) for p in (
    r"\bjuniors?\b|\bunder-?\d\d\b|\bU-?\d\d\b|\byouth\b",
    r"\bdoubles\b",
    r"\bwheelchair\b",
))


# One sentence often reports both events, a clause each: "Tekleba retained his title, while
# Caversham won the women's race"
_BOTH_EVENTS = re.compile(r",?\s+(?:while|whereas)\s+|;\s+")


@lru_cache(maxsize=1024)
def _asked_pairs(question: str) -> tuple[tuple[re.Pattern[str], re.Pattern[str]], ...]:
    """(asked, other) for each sex or category the question names without naming its other."""
    return tuple((asked, other) for asked, other in _SEX_PAIRS
                 if asked.search(question) and not other.search(question))


def _names_other(query: Query, text: str) -> bool:
    return any(other.search(text) and not asked.search(text) for asked, other in _asked_pairs(query.text))


def _other_sex(query: Query, sentence: str) -> bool:
    """A sentence naming the other sex's event, and not the asked one ("The men's doubles title went
    to ..." for the women's doubles), or the other of an award's two categories (best actress for
    best actor), in each of its clauses."""
    return bool(_asked_pairs(query.text)) and all(
        _names_other(query, c) for c in _BOTH_EVENTS.split(sentence))


def own_candidates(query: Query, s: Sentence) -> tuple[Candidate, ...]:
    """The sentence's candidates outside a clause about the other sex's event or category: the
    women's winner is no answer to who won the men's race."""
    if not _names_other(query, s.text):
        return s.candidates
    other = [(a, b) for a, b in _pieces(_BOTH_EVENTS, s.text) if _names_other(query, s.text[a:b])]
    return tuple(c for c in s.candidates if not any(a <= c.start < b for a, b in other))


def other_category(query: Query, passage: str) -> bool:
    """Whether a passage reports another event than the one the question asks about: the other
    sex's (not "Moravel's first female head of government": a person, not an event), the juniors'
    or the doubles' for the main one, or the main one for theirs."""
    if any(bool(c.search(query.text)) != bool(c.search(passage)) for c in _CATEGORIES):
        return True
    women, men = bool(_WOMENS_EVENT.search(query.text)), bool(_MENS_EVENT.search(query.text))
    if women == men:
        return False
    if women:
        return not _WOMEN.search(passage)
    return bool(_WOMEN.search(passage)) and not _MEN.search(passage)


# The year a figure is for, written next to it: "reports 2023 revenue", "profit for 2023". A
# report dated 2024 of 2023's revenue doesn't give 2024's.
_MEASURE_WORDS = r"(?:revenue|revenues|sales|turnover|profit|profits|net income|income|loss|earnings)"
_FIGURE_YEAR = re.compile(
    rf"\b(?P<a>(?:19|20)\d\d)\s+(?:full[- ]year\s+|annual\s+|fiscal\s+)?{_MEASURE_WORDS}\b"
    rf"|\b{_MEASURE_WORDS}\s+(?:for|in|of)\s+(?:fiscal\s+|the\s+(?:full\s+)?year\s+)?"
    rf"(?P<b>(?:19|20)\d\d)\b", re.I)


def _figure_years(text: str) -> frozenset[str]:
    return frozenset(m.group("a") or m.group("b") for m in _FIGURE_YEAR.finditer(text))


@lru_cache(maxsize=1024)
def _amounts_given(question: str) -> frozenset[str]:
    """The digits of the sums and shares a question gives to say which fact it means ("estimated the
    merger would save 14 million crowns"): the sentence that answers states them. Not a measure
    describing a thing ("the 42-kilometre race")."""
    return frozenset(t for c in candidates(question) if c.kind == NUMBER and c.units & {MONEY, PERCENT}
                     for t in c.terms if t[:1].isdigit())


# A final, certified or official figure is not the estimate or the provisional count.
_FINAL_ASK = re.compile(r"\b(?:final|certified|official|confirmed|definitive)\b", re.I)
_ESTIMATE = re.compile(
    r"\b(?:estimated?|estimates|provisional|preliminary|projected|early count|exit poll)\b", re.I)
# Operating, net, pre-tax and gross profit are different figures.
_PROFIT_KIND = re.compile(r"\b(?P<kind>operating|net|pre-?tax|gross|underlying|adjusted)\s+"
                          r"(?:\w+\s+)?(?:profit|income|loss|earnings|margin)\b", re.I)


def _profit_kinds(text: str) -> frozenset[str]:
    return frozenset(m.group("kind").lower().replace("-", "") for m in _PROFIT_KIND.finditer(text))


# A turnout is no party's share of the vote.
_TURNOUT_BEFORE = re.compile(r"\bturnout\b(?:[^.;,]{0,25}|[^.;]{0,60}\b(?:up|down) from\s+|[^.;]{0,60}"
                             r"\bcompared with\s+)$", re.I)
_TURNOUT_ASK = re.compile(r"\bturn(?:out|ed out)\b|\bvoted\b|\bcast\b|\bballots\b|\bwent to the polls\b",
                          re.I)


def _another_figure(query: Query, text: str) -> bool:
    """The sentence gives an estimate for a final figure, another kind of profit, or a turnout for
    a party's share."""
    if query.answer_type != NUMBER:
        return False
    if query.unit == PERCENT and not _TURNOUT_ASK.search(query.text):
        shares = [c for c in candidates(text) if PERCENT in c.units]
        if shares and all(_TURNOUT_BEFORE.search(text[:c.start]) for c in shares):
            return True
    if _FINAL_ASK.search(query.text) and _ESTIMATE.search(text) and not _FINAL_ASK.search(text):
        return True
    asked = _profit_kinds(query.text)
    said = _profit_kinds(text)
    return bool(asked and said and not asked & said)


# A snippet opening on a rival ("Jan 2024 — Rival Halcyon Bio's drug cut ...") gives the rival's
# figures, not those of the company the question is about.
_RIVAL_FIRST = re.compile(r"(?:^|[—–]\s*|\.\.\.\s*)Rivals?\s+[A-Z]")
_RIVAL = re.compile(r"\brivals?\b", re.I)


def _about_a_rival(query: Query, text: str) -> bool:
    return bool(_RIVAL_FIRST.search(text)) and not _RIVAL.search(query.text)


def answers_else(query: Query, s: Sentence) -> bool:
    """Whether a sentence answers another question than the one asked, whatever its candidates:
    it doesn't name the measure, role or thing paid for that the question names (a figure, but of
    something else), it only states as intended or forecast what the question asks as done, it
    gives a figure for another span or another year, it lacks an amount the question gives, it
    says the asked fact was withheld, it opens on a rival, it gives an estimate for a final
    figure or another kind of profit, or it names the other sex's event."""
    # (a role the question asks for is stated as a fact even in a sentence about plans: "chief
    # executive Mette Damgaard has said the group wants to ...")
    tentative = not query.tentative and not query.role and (
        _tentative(query, s.text) or not_yet(query, s.text))
    return bool(not query.given_by(s.terms, s.text) or tentative
                or (query.spans and (given := spans(s.text)) and not given & query.spans)
                or (query.years and query.answer_type == NUMBER and (of := _figure_years(s.text))
                    and not of & query.years)
                or not _amounts_given(query.text) <= s.terms or withheld(query, s.text)
                or _about_a_rival(query, s.text) or _another_figure(query, s.text)
                or _other_sex(query, s.text))


def sentence_fit(query: Query, s: Sentence) -> float:
    """How well a sentence answers: its best candidate's fit, capped when it answers another
    question (`answers_else`)."""
    f = fit(query.answer_type, own_candidates(query, s), query.given, query.unit)
    return OTHER_UNIT if f > OTHER_UNIT and answers_else(query, s) else f


def passage_fit(query: Query, text: str) -> float:
    """The best sentence's fit, scaled by how many of the question's words it shares: the
    answer should sit among the words the question asks about, not anywhere in the passage."""
    asked, asked_terms = query.answer_type, frozenset(query.terms)
    if asked is None or not asked_terms:
        return 0.0
    best = 0.0
    for s in sentences(text):
        f = sentence_fit(query, s)
        if f:
            best = max(best, f * (0.5 + 0.5 * len(s.terms & asked_terms) / len(asked_terms)))
    return best
