"""The question, analysed once: its index terms, the names and numbers it hinges on, the years
it asks about, and the kind of thing the answer is (a person, a place, a date, an amount, an
organisation). Retrieval, the relevance gate and the offline answerer all read this value
instead of re-tokenising the question in each module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rag.keyword import QUESTION_WORDS, STOPWORDS, KeyTerm, initials, key_terms, terms, words

YEAR = re.compile(r"^(1[89]|20)\d\d$")  # a year as a term of the index
_LAST_YEAR = re.compile(r"\blast year(?:'s|’s)?\b", re.I)
# A quarter or half of a year, as results and reports name it: "Q1", "first quarter", "1Q",
# "second half", "H2", or the full year. Like a year, a different one is a different fact.
_ORDINAL = {"first": "1", "second": "2", "third": "3", "fourth": "4", "1st": "1", "2nd": "2",
            "3rd": "3", "4th": "4"}
_PERIOD = re.compile(
    r"\b(?:(?P<q>Q[1-4])|(?P<nq>[1-4])Q|(?P<h>H[12])|(?P<fy>full[\s-]year|FY|whole of (?:19|20)\d\d)"
    r"|(?P<ord>first|second|third|fourth|1st|2nd|3rd|4th)[\s-]+(?P<unit>quarter|half)"
    r"|(?P<months>January|April|July|October)\s*(?:-|–|—|to)\s*(?:March|June|September|December))\b", re.I)
# A quarter named by its months, as many companies report: "the April–June period" is Q2
_QUARTER_OF = {"january": "q1", "april": "q2", "july": "q3", "october": "q4"}


# A trial's phase: "phase 2", "Phase III", "mid-stage". A phase 2 result is not the phase 3 one.
_PHASE = re.compile(r"\b(?:phase[\s-]*(?P<n>[123]|I{1,3})\b|(?P<stage>early|mid|late)[\s-]stage\b)", re.I)
_PHASE_OF = {"i": "1", "ii": "2", "iii": "3", "early": "1", "mid": "2", "late": "3"}


@lru_cache(maxsize=16384)
def periods(text: str) -> frozenset[str]:
    """The quarters and halves a text names, as "q1".."q4", "h1", "h2", "fy" (the full year), and
    the trial phases, as "phase1".."phase3"."""
    out = {"phase" + _PHASE_OF.get((m.group("n") or m.group("stage")).lower(), m.group("n") or "")
           for m in _PHASE.finditer(text)}
    for m in _PERIOD.finditer(text):
        if m.group("q"):
            out.add(m.group("q").lower())
        elif m.group("nq"):
            out.add("q" + m.group("nq"))
        elif m.group("h"):
            out.add(m.group("h").lower())
        elif m.group("months"):
            out.add(_QUARTER_OF[m.group("months").lower()])
        elif m.group("fy"):
            out.add("fy")  # a whole year's figure, not a quarter's
        else:
            n = _ORDINAL[m.group("ord").lower()]
            if m.group("unit").lower() == "quarter" or n in "12":
                out.add(("q" if m.group("unit").lower() == "quarter" else "h") + n)
    return frozenset(out)


# The span a figure covers, as news words it: "on its opening day", "in its first three months",
# "opening weekend". A day's figure is not the first month's.
_NTH = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5}
_SPAN_NUMBER = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "twelve": 12}
_SPAN = re.compile(
    r"\b(?:(?:opening|reopening|launch|debut|release|inaugural)\s+(?P<on>day|night|weekend|week|month|year|season)"
    r"|first\s+(?:full\s+)?(?:(?P<n>\d+|a|one|two|three|four|five|six|seven|eight|nine|ten|twelve)\s+)?"
    r"(?P<unit>days?|nights?|weekends?|weeks?|months?|years?|seasons?)"
    r"|(?P<nth>second|third|fourth|fifth|2nd|3rd|4th|5th)\s+(?P<nth_unit>day|night|weekend|week|month|year|season))\b",
    re.I)


@lru_cache(maxsize=16384)
def spans(text: str) -> frozenset[str]:
    """The spans a text gives figures for, as "1 day", "3 month", "1 weekend" (the first ones),
    "#2 season" (the second)."""
    out = set()
    for m in _SPAN.finditer(text):
        if m.group("on"):
            out.add("1 " + m.group("on").lower())
        elif m.group("nth"):  # "its second season": that one, not the first N
            out.add(f"#{_NTH[m.group('nth').lower()]} {m.group('nth_unit').lower()}")
        else:
            n = m.group("n") or "1"
            out.add(f"{_SPAN_NUMBER.get(n.lower(), n)} {m.group('unit').lower().rstrip('s')}")
    return frozenset(out)


# Answer types. "who" asks for a person or an organisation (who acquired, who won).
PERSON, PLACE, DATE, NUMBER, ORG = "person", "place", "date", "number", "org"
WORK = "work"  # a title: "which film won", "which album"
BY_YEAR = "year"  # the unit of a date asked for by its year ("in what year"): a weekday doesn't answer
CITY = "city"  # the unit of a place asked for as a city or town: a country doesn't answer
SOMEONE = "someone"  # the unit of a person asked for by what only people do: an organisation doesn't answer
_CITY_HEADS = frozenset("city cities town towns capital village port".split())

_HEAD_NOUNS = {
    PLACE: "city town capital country nation state region province venue stadium arena island county "
           "village port district continent location place where host".split(),
    ORG: "company firm bank group club team side party organisation organization agency brand "
         "conference summit tournament festival "
         "university airline carrier startup manufacturer network broadcaster league outlet "
         "newspaper journal magazine lab laboratory label publisher studio retailer insurer lender automaker "
         "carmaker maker chain operator buyer acquirer bidder rival sponsor body union collection "
         "museum gallery foundation charity institute ministry regulator council administrator "
         "consultancy".split(),
    PERSON: "person player president minister ceo leader coach author actor actress singer director "
            "scientist winner chancellor candidate driver artist striker manager chairman "
            "chairwoman founder governor mayor senator judge official executive chief head "
            "premier king queen prince emperor pope writer novelist composer rapper musician "
            "athlete cyclist runner swimmer golfer goalkeeper captain batter pitcher boxer "
            "astronaut researcher economist spokesperson spokesman spokeswoman man woman "
            "politician lawmaker prosecutor envoy ambassador commissioner secretary champion "
            "designer architect chef journalist editor filmmaker member rider investigator "
            "botanist biologist physicist astronomer astrophysicist chemist historian poet painter "
            "sculptor photographer presenter producer conductor dancer lawyer activist officer "
            "commander skier jockey sprinter midfielder defender forward runner-up "
            "successor predecessor".split(),
    DATE: "year month day date decade century season time".split(),
    WORK: "film movie documentary album book novel memoir song painting sculpture opera musical "
          "artwork title".split(),
    NUMBER: "amount number figure price cost value revenue profit loss sales percentage percent "
            "share rate score margin total sum budget fine fee salary population turnout "
            "attendance distance height length weight temperature age debt deficit stake "
            "valuation deal worth tally record count capacity speed expenditure investment funding "
            "contribution quota level ridership exports imports".split(),
}
_HEAD_TYPE = {noun: kind for kind, nouns in _HEAD_NOUNS.items() for noun in nouns}
# What only people do: "who scored" is not answered by the club, "who said" not by the ministry.
_WHO_DID = re.compile(r"\bwho\s+(?:scored|said|says|told|wrote|writes|directed|painted|composed|sang|sings|"
                      r"starred|coached|married)\b", re.I)
PERSON_NOUNS = frozenset(_HEAD_NOUNS[PERSON]) - {"person", "man", "woman", "head", "chief"}
# "how many", "how much" ... → an amount; "how long"/"how old" are amounts of time or years.
_HOW_NUMBER = frozenset("many much long old far big large high tall heavy often fast deep".split())
_HOW_STEMS = frozenset(terms(" ".join(_HOW_NUMBER)))


# The unit an asked amount is in, from the question's words: "how much did X pay" wants money,
# not the deal's 40 % stake; "how heavy" wants kilograms, not the eleven instruments.
MONEY, PERCENT, WEIGHT, LENGTH, DURATION = "money", "percent", "weight", "length", "duration"
COUNT = "count"  # "how many seats": a number of things, not a share, a sum or a length
_UNIT_CUES = {
    MONEY: "pay paid cost spend spent salary price revenue profit income earn earnings prize fee fine "
           "worth valuation sum money funding budget wage bonus compensation fetch bid dollars euros "
           "pounds invest invested investment contribute contributed contribution donate donated donation "
           "grant loan",
    PERCENT: "percentage percent proportion share",  # not "rate": birth rates, exchange rates
    WEIGHT: "heavy weigh weight mass kilograms tonnes",
    LENGTH: "far distance tall height length deep depth kilometres kilometers miles metres meters",
    DURATION: "last lasted take took spend spent serve stay wait",  # after "how long"
}
_UNIT_OF = {stem: unit for unit in (MONEY, PERCENT, WEIGHT, LENGTH)
            for stem in terms(_UNIT_CUES[unit])}
_DURATION_CUES = frozenset(terms(_UNIT_CUES[DURATION]))
_TIME_NOUNS = frozenset(terms("years months weeks days hours minutes seconds decades"))
# A change ("how much did prices rise", "how much did OPEC cut output") may be given in any unit.
_CHANGE = frozenset(terms("rise rose grow grew fall fell increase decline drop cut reduce jump climb "
                          "slip shrink raise raised lower lowered gain lose lost"))
# Measures a figure must name to answer: a revenue figure doesn't give the profit, nor a
# predecessor's pay the salary asked about.
_MEASURES = tuple(frozenset(terms(g)) for g in (
    "revenue revenues sales turnover sold",
    # not "earn" (a film earns its takings), nor "pay" (pay for a company)
    "profit profits income loss losses",
    "salary salaries wage wages compensation remuneration package",
    "prize award purse",
    "turnout",
    "attendance attended attend spectators spectator crowd crowds fans visitors visited",
    "damages",  # not a fine: one is paid to the wronged, the other to the state
    "fine fines fined penalty penalties",
))
_BIDS = frozenset(terms("bid bids offer offers offered"))  # "how much did X bid": a bid, not a valuation
# Acts a "which company"/"who" question may ask about: a sentence naming an organisation without
# the act ("Pellow Freight is a Rotterdam haulier") doesn't say who did it.
_BUYING = frozenset(terms("acquire acquired acquires acquisition buy bought buys purchase purchased "
                          "takeover buyer owner"))
_SOLD_TO = re.compile(r"\b(?:sold|sells|sell|selling)\b[^.;]*?\bto\s+(?:the\s+)?[A-Z]")
_JOINING = frozenset(terms("join joined joins sign signed signs signing transfer"))  # a club a player joins
# What a company built or published: "which construction company will build the stadium" is not
# answered by the club that unveiled plans for it.
_MAKING = tuple(frozenset(terms(g)) for g in (
    "build built builds builder builders construct constructed construction contractor contractors",
    "journal published publish publishes publisher",
))
_DELEGATION = frozenset(terms("delegation delegations delegate delegates envoy represented"))
# The whole a share is of: a share of the vote is not a takeover premium, nor a poll's sample.
_SHARE_OF = tuple(frozenset(terms(g)) for g in (
    "shareholders shareholder stockholders stockholder",
    "vote votes voted voters voting ballot ballots polls electorate turnout referendum",
))
# Roles a "who" question may ask about, each with the words that name it.
_ROLES = tuple(frozenset(terms(g)) for g in (
    "cfo financial finance",
    "ceo executive",
    "coach manager",
    "chair chairman chairwoman chairperson",
    "mayor",
    "spokesperson spokesman spokeswoman",
    "vice vp",
))
# A placing asked for ("who finished third", "the runner-up") must be the placing the sentence states.
_PLACING_ASK = re.compile(
    r"\b(?:finish(?:ed|es)?|came|comes?|placed?|was|were|ended|end)\s+(?:in\s+)?(?:the\s+)?"
    r"(?P<nth>second|third|fourth|fifth|2nd|3rd|4th|5th)\b(?!\s+(?:time|quarter|half|season|term|round|leg|year|day))"
    r"|\b(?P<runner>runners?-up)\b"
    r"|\b(?P<place>second|third|fourth|fifth|2nd|3rd|4th|5th)\s+place\b", re.I)
_PLACINGS = {2: "second 2nd runner silver", 3: "third 3rd bronze", 4: "fourth 4th", 5: "fifth 5th"}


def _placing(question: str) -> frozenset[str]:
    """The words stating the placing a question asks for, if it asks for one."""
    m = _PLACING_ASK.search(question)
    if not m:
        return frozenset()
    nth = 2 if m.group("runner") else _NTH[(m.group("nth") or m.group("place")).lower()]
    return frozenset(terms(_PLACINGS[nth]))


def _unit(toks: list[str], stems: list[str]) -> str | None:
    stem_set = set(stems)
    if stem_set & _CHANGE:
        return None
    for i, w in enumerate(toks[:-1]):
        if w == "how" and toks[i + 1] == "long":
            return DURATION if stem_set & _DURATION_CUES else None
        if w == "how" and toks[i + 1] == "many":
            counted = terms(" ".join(toks[i + 2:i + 3]))
            if counted and counted[0] in _TIME_NOUNS:
                return DURATION
            return _UNIT_OF.get(counted[0], COUNT) if counted else COUNT  # "how many euros"
        if w in ("per", "a") and toks[i + 1] == "share":
            return MONEY  # a price "per share", not a share of something
    for t in stems:
        if t in _UNIT_OF:
            return _UNIT_OF[t]
    return None


def _named(stems: list[str], groups: tuple[frozenset[str], ...]) -> frozenset[str]:
    """The words of every group the question names: an answering sentence must hold one."""
    asked = set(stems)
    return frozenset().union(*[g for g in groups if g & asked])


# "How much did Voltaris pay for the land": a price paid for something else doesn't answer.
_PAID_FOR = re.compile(
    r"\b(?:pay|paid|spend|spent)\b.*?\b(?:for|on)\s+(?:(?:the|its|their|his|her|a|an)\s+)?"
    r"(?P<thing>[^,?;]+?)(?=\s+(?:for|on|in|at|to|with|from|by|after|during|when|as)\b|[,?;]|$)", re.I)


def _paid_for(question: str) -> frozenset[str]:
    m = _PAID_FOR.search(question)
    return frozenset(terms(m.group("thing"))) if m else frozenset()


# Words that make a question about what may happen or was only intended ("which company will
# buy", "who hopes to win"): a sentence stating an intent answers those, not "which company bought".
_TENTATIVE_ASK = re.compile(
    r"\b(?:will|would|could|should|may|might|plan|plans|planned|planning|expected|expect|expects|"
    r"set to|going to|hope|hopes|hoped|aim|aims|want|wants|wanted|intend|intends|seek|seeks|sought|"
    r"propose|proposes|proposed|consider|considering|considered|interested|talks|likely|possible|"
    r"potential|rumou?red|poll|polls|survey|forecast|forecasts|preview|favourite|odds|shortlist|"
    r"shortlisted)\b", re.I)

# "Where was the final played", "which city hosted": the event is past, so a sentence saying it is
# still to come answers nothing ("when has the election been called" is not past)
_PAST_AUX = re.compile(r"\b(?:did|was|were|had)\b", re.I)
_PAST_VERB = re.compile(r"\b\w{3,}ed\b", re.I)
_PRESENT_AUX = re.compile(r"\b(?:is|are|has|have|will|be)\b", re.I)


def _asks_past(question: str) -> bool:
    return bool(_PAST_AUX.search(question)
                or (_PAST_VERB.search(question) and not _PRESENT_AUX.search(question)))


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[str, ...]  # index terms, as BM25 sees them
    keys: tuple[KeyTerm, ...]  # names and numbers the answer hinges on
    names: frozenset[str]
    years: frozenset[str]
    periods: frozenset[str]  # quarters, halves, the full year, trial phases asked about ("q1", "phase3")
    spans: frozenset[str]  # the span a figure is asked for ("1 day" for "on its opening day")
    spelled: tuple[tuple[str, frozenset[str]], ...]  # acronym → the names it stands for
    answer_type: str | None  # PERSON | PLACE | DATE | NUMBER | ORG | WORK | None (anything)
    focus: frozenset[str]  # content terms that are not names or numbers ("revenue", "acquired")
    # for an amount: MONEY | PERCENT | WEIGHT | LENGTH | DURATION | COUNT; BY_YEAR for a date, CITY
    # for a place, SOMEONE for a person
    unit: str | None = None
    # The measure, role or thing paid for that the question names: an answering sentence holds
    # a word of each group.
    needs: tuple[frozenset[str], ...] = ()
    phrases: tuple[frozenset[str], ...] = ()  # the things it names, each as its words' terms
    # The noun saying what kind of thing is asked for: not a name the question gives ("Which
    # regulator" is answered by "the Prudential Regulation Authority", "which bank" by "Meridian Bank").
    head: frozenset[str] = frozenset()
    kinds: tuple[tuple[str, frozenset[str]], ...] = ()  # names of events and prizes: kinds_named
    tentative: bool = False  # it asks what may happen or was intended, not only what happened
    # it asks when or where, not in the past: "to be held in Venlo" states where the event is
    scheduled: bool = False
    role: bool = False  # it asks who holds a role ("chief executive"), a fact even amid plans

    def names_held(self, doc_terms: frozenset[str]) -> int:
        """How many of the things the question names a passage writes, by a word of their name or
        by another name of theirs (the Kremlin's "Russia", each of whose terms it must write)."""
        others = _subjects()
        return sum(1 for ph in self.phrases
                   if ph & doc_terms or any(a <= doc_terms for a in others.get(ph, ())))

    def given_by(self, sentence_terms: frozenset[str], text: str) -> bool:
        """Whether a sentence (its terms and text) holds a word of each group the question needs; a
        sale to someone is a purchase by them ("Ostrelli sold its plastics arm to Vantor" names the
        buyer)."""
        return all(g & sentence_terms or (g & _BUYING and _SOLD_TO.search(text)) for g in self.needs)

    def of_asked_year(self, text_terms: frozenset[str], text: str, date: str) -> bool:
        """Whether a text (of a report dated `date`, or undated) is about the year asked, if any:
        it states that year, is dated in it, or is dated the year after and says "last year"."""
        own = date[:4]
        return (not self.years or bool(self.years & text_terms) or own in self.years
                or (own.isdigit() and str(int(own) - 1) in self.years and bool(_LAST_YEAR.search(text))))

    @cached_property
    def given(self) -> frozenset[str]:
        """The terms a candidate answering the question must not merely repeat: all its terms but
        the noun asking the kind."""
        return frozenset(self.terms) - self.head


# how a hyphenated modifier ends: "state-owned", "city-based" describe the noun after them
_MODIFIER_END = r"(?:owned|based|run|backed|led|funded|listed|controlled|born|made|sponsored)"


def _head_kind(word: str) -> str | None:
    return _HEAD_TYPE.get(word) or _HEAD_TYPE.get(word.rstrip("s"))


def _kind_and_head(question: str) -> tuple[str | None, str, str]:
    """The kind of thing asked for, from the question word and the noun after which/what, that
    noun ("regulator" in "which regulator"), and the words describing the kind with it ("which
    construction company": "Holmberg Construction" doesn't merely repeat the question)."""
    surface = words(question)
    toks = [w.lower() for w in surface]
    for i, w in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if w in ("who", "whom", "whose"):
            return PERSON, "", ""
        if w == "where":
            return PLACE, "", ""
        if w == "when":
            return DATE, "", ""
        if w == "how" and nxt in _HOW_NUMBER:
            return NUMBER, "", ""
        if w in ("which", "what"):
            if nxt in ("did", "does", "do", "has", "have", "had"):
                return None, "", ""  # "what did the bank do": an action, not a thing
            # the head noun is the first word after the wh-word that names a kind of thing
            # ("which French city", "what was the company's revenue", "what year")
            for j, nw in enumerate(toks[i + 1:i + 7], start=i + 1):
                if surface[j][:1].isupper():
                    continue  # part of a name ("Meridian Bank's net profit" asks for an amount)
                if re.search(rf"\b{re.escape(nw)}(?:-\w+)*-{_MODIFIER_END}\b", question, re.I):
                    continue  # part of a modifier: "which state-owned company", "town-hall-owned"
                kind = _head_kind(nw)
                if kind:
                    # the last noun of a compound says the kind: "which foreign ministry spokesperson"
                    while j + 1 < len(toks) and not surface[j + 1][:1].isupper() \
                            and (next_kind := _head_kind(toks[j + 1])):
                        j, nw, kind = j + 1, toks[j + 1], next_kind
                    described = [t for t, sw in zip(toks[i + 1:j + 1], surface[i + 1:j + 1], strict=True)
                                 if not sw[:1].isupper()]
                    return kind, nw, " ".join(described)
            return None, "", ""
    if terse(question):
        # a search-box query names what it wants last: "Halvard Logistics 2024 revenue", "Tidewater
        # Hall original budget 2017"
        said = [(w, lw) for w, lw in zip(surface, toks, strict=True) if not YEAR.match(w)]
        if len(said) > 2 and (said[-2][1] in _NTH or said[-2][1] in ("per", "a", "each")) \
                and said[-1][1] in _SPAN_UNITS:
            # "... tickets sold second season", "... exports per year": the span says which or how
            # often, not what
            said = said[:-2]
        for w, lw in said[-1:]:
            kind = None if w[:1].isupper() else NUMBER if lw in _COUNTED else _head_kind(lw)
            if kind:
                return kind, lw, lw
    return None, "", ""


# A search-box query ending in what was counted or paid: "Northbound Trains copies sold"
_COUNTED = frozenset("sold raised spent spending paid earned scored".split())
_SPAN_UNITS = frozenset("day night weekend week month year season".split())
_WH = frozenset("who whom whose where when how which what why".split())


def terse(question: str) -> bool:
    """A search-box query ("Halvard Logistics 2024 revenue"), not a question: its user typed the
    words the answer must be about."""
    return not question.rstrip().endswith("?") and not _WH & {w.lower() for w in words(question)}


# A name: capitalised words joined by spaces or hyphens, or a capitalised word with a hyphenated tail.
_NAME_PHRASE = re.compile(r"[A-Z][\w'’.&]*(?:(?:[ -]+)[A-Z0-9][\w'’.&]*|-[a-z][\w'’]*)*")


def name_phrases(question: str) -> tuple[tuple[str, ...], ...]:
    """The things a question names, each as the index terms of its words in order: runs of
    capitalised words ("the Southern Wide-field Radio Array" is one thing, not four)."""
    out = []
    for m in _NAME_PHRASE.finditer(question):
        run = m.group()
        if m.start() == 0:  # the question's first word is capitalised anyway ("Who", "In what year")
            first = run.split()[0].lower()
            if first in STOPWORDS or first in QUESTION_WORDS:
                run = run[len(first):]
        if ts := tuple(terms(run)):
            out.append(ts)
    return tuple(out)


# The last words of names that say what kind of event, prize or body a name is: a passage naming
# another of the same kind ("the European Athletics Indoor Championships") and not the asked one
# ("the EuroFloorball Championship") is about another event.
_KIND_WORDS = frozenset(terms(
    "championship championships cup open prize award awards festival summit forum games trophy "
    "medal conference congress agreement treaty accord marathon classic tour series biennale fair "
    "expo week league grand prix derby"))


def kinds_named(phrases: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, frozenset[str]], ...]:
    """Each name ending in a kind word, as (that word's term, its other words' terms)."""
    return tuple((ph[-1], frozenset(ph[:-1])) for ph in phrases
                 if len(ph) >= 2 and ph[-1] in _KIND_WORDS)


# News names a government by its seat and a country by its people or its capital: a question's
# "the Kremlin" or "the American president" is a passage's "Russia" or "US".
_SAME_SUBJECT = (
    "United States|US|U.S.|USA|America|American|Americans|Washington|White House",
    "Russia|Russian|Russians|Moscow|Kremlin",
    "China|Chinese|Beijing",
    "United Kingdom|UK|Britain|British|London|Downing Street|Whitehall",
    "European Union|EU|Brussels",
    "Ukraine|Ukrainian|Ukrainians|Kyiv|Kiev",
    "France|French|Paris|Élysée",
    "Germany|German|Berlin",
    "Japan|Japanese|Tokyo",
    "India|Indian|New Delhi",
    "Israel|Israeli|Israelis",
    "Iran|Iranian|Tehran",
)


@lru_cache(maxsize=1)
def _subjects() -> dict[frozenset[str], tuple[frozenset[str], ...]]:
    """Each form's terms → the terms of the other forms of its subject."""
    out = {}
    for group in _SAME_SUBJECT:
        forms = {frozenset(terms(f)) for f in group.split("|")}
        for f in forms:
            out[f] = tuple(g for g in forms if g != f)
    return out


def _needs(kind: str | None, unit: str | None, asked: list[str], question: str,
           placing: frozenset[str]) -> tuple[frozenset[str], ...]:
    """The groups of words an answering sentence must hold one of each: the measure, the thing paid
    for, the bid or the whole a share is of for an amount; the role, the purchase or the delegation
    of a person; the purchase, the signing, the building or the publishing an organisation is asked
    for; and the placing asked for, if any."""
    if kind == NUMBER:
        groups = (_named(asked, _MEASURES), _paid_for(question),
                  _named(asked, (_BIDS,)) if unit == MONEY else frozenset(),  # not how long bidding lasted
                  *(_named(asked, (g,)) for g in _SHARE_OF if unit == PERCENT))
    elif kind == PERSON:
        groups = (_named(asked, _ROLES), _named(asked, (_BUYING,)), _named(asked, (_DELEGATION,)))
    elif kind == ORG:
        groups = (_named(asked, (_BUYING, _JOINING)), *(_named(asked, (g,)) for g in _MAKING))
    else:
        groups = ()
    return tuple(g for g in (*groups, placing, *_award_category(question)) if g)


# An award's category: "who was named best actor" is not answered by the best film's director
_BEST = re.compile(r"\bbest\s+(?:new\s+|supporting\s+|original\s+|leading\s+)?([a-z]+)", re.I)


def _award_category(question: str) -> tuple[frozenset[str], ...]:
    return tuple(frozenset(terms(m.group(1))) for m in _BEST.finditer(question))


# "What was her winning time?" asks how long the race took her, not when it was
_RACE_TIME = re.compile(r"\b(?:winning|finishing|race|record|lap|qualifying|fastest|course)\s+time\b", re.I)


@lru_cache(maxsize=1024)
def analyse(question: str) -> Query:
    keys = tuple(key_terms(question))
    names = frozenset(k.term for k in keys if k.kind == "name")
    spelled = tuple((a, frozenset(ts & names)) for a, ts in initials(question).items() if ts & names)
    qterms = tuple(terms(question))
    key_set = {k.term for k in keys}
    kind, head, described = _kind_and_head(question)
    placing = _placing(question)
    if kind is None and placing:
        kind = PERSON  # "eskaldi hills 2025 fourth place overall": who came fourth
    race_time = kind == DATE and head == "time" and bool(_RACE_TIME.search(question))
    if race_time:
        kind = NUMBER
    phrases = name_phrases(question)
    # what a search-box query asks for is its last word; the words before it name the subject
    # ("Nerevia share sale 2024 amount" wants an amount, not a share or sales)
    asked = list(terms(head)) if terse(question) else list(qterms)
    unit = (DURATION if race_time
            else _unit([w.lower() for w in words(question)], [t for t in asked if t not in names])
            if kind == NUMBER else BY_YEAR if kind == DATE and head in ("year", "years")
            else CITY if kind == PLACE and head in _CITY_HEADS
            else SOMEONE if kind == PERSON and _WHO_DID.search(question) else None)
    return Query(
        text=question,
        terms=qterms,
        keys=keys,
        names=names,
        years=frozenset(k.term for k in keys if YEAR.match(k.term)),
        periods=periods(question),
        spans=spans(question),
        spelled=spelled,
        answer_type=kind,
        focus=frozenset(t for t in qterms if t not in key_set and t not in _HOW_STEMS),
        unit=unit,
        needs=_needs(kind, unit, asked, question, placing),
        role=kind == PERSON and bool(_named(asked, _ROLES)),
        phrases=tuple(frozenset(ph) for ph in phrases),
        kinds=kinds_named(phrases),
        head=frozenset(terms(described)),
        tentative=bool(_TENTATIVE_ASK.search(question)),
        scheduled=kind in (DATE, PLACE) and not _asks_past(question),
    )
