"""Street names as residents write and type them.

OSM names a street in full ("вулиця Шевченка", "Запорізьке шосе"); residents type "вул.
Шевченка 12", "просп. Яворницького", "пр Яворницького", "Шевченка 12" or, in English,
"Shevchenka St". `street_name()` splits a name into its type word and the rest, and gives the
forms the gazetteer stores and searches: the full Ukrainian form, the short one a map label
uses, English (the core transliterated by the national table of 2010, resolution No. 55 of
the Cabinet of Ministers of 27.01.2010, through translitua's `UkrainianKMU`, with the type
word in English), and every abbreviation a search should find.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from translitua import UkrainianKMU, translit


@dataclass(frozen=True)
class StreetType:
    word: str  # the full Ukrainian type word, lower case
    short: str  # the abbreviation a label uses
    english: str
    aliases: tuple[str, ...] = ()  # other spellings and abbreviations people type


STREET_TYPES: tuple[StreetType, ...] = (
    StreetType("вулиця", "вул.", "Street", ("вул",)),
    StreetType("проспект", "просп.", "Avenue", ("просп", "пр.", "пр", "пр-т")),
    StreetType("провулок", "пров.", "Lane", ("пров", "пр-к")),
    StreetType("бульвар", "бульв.", "Boulevard", ("бульв", "б-р", "бул.")),
    StreetType("площа", "пл.", "Square", ("пл",)),
    StreetType("набережна", "наб.", "Embankment", ("наб",)),
    StreetType("шосе", "ш.", "Highway", ()),
    StreetType("узвіз", "узв.", "Descent", ("узв",)),
    StreetType("проїзд", "пр-д", "Passage", ()),
    StreetType("тупик", "туп.", "Dead End", ("туп",)),
    StreetType("майдан", "майд.", "Maidan", ("майд",)),
    StreetType("алея", "ал.", "Alley", ("ал",)),
    StreetType("дорога", "дор.", "Road", ("дор",)),
    StreetType("спуск", "сп.", "Descent", ()),
    StreetType("в'їзд", "в'їзд", "Entrance", ()),
    StreetType("лінія", "лін.", "Line", ("лін",)),
    StreetType("міст", "міст", "Bridge", ()),
    StreetType("траса", "траса", "Highway", ()),
)
# Any spelling (lower case, straight apostrophe) -> its type.
_BY_SPELLING: dict[str, StreetType] = {}
for _type in STREET_TYPES:
    for _spelling in (_type.word, _type.short, *_type.aliases):
        _BY_SPELLING.setdefault(_spelling, _type)
# "пр." alone is ambiguous (проспект or провулок); it stays проспект, its common reading.

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'", "´": "'"})
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """One straight apostrophe, single spaces, no surrounding space."""
    return _SPACES.sub(" ", (text or "").translate(_APOSTROPHES)).strip()


@dataclass(frozen=True)
class StreetName:
    core: str  # the name without its type word: "Шевченка"
    type: StreetType | None
    type_first: bool  # "вулиця Шевченка" (True) or "Запорізьке шосе" (False)

    @property
    def full_uk(self) -> str:
        return self._with(self.type.word if self.type else "")

    @property
    def short_uk(self) -> str:
        return self._with(self.type.short if self.type else "")

    @property
    def english(self) -> str:
        latin = latin_of(self.core)
        return f"{latin} {self.type.english}" if self.type else latin

    def _with(self, word: str) -> str:
        if not word:
            return self.core
        return f"{word} {self.core}" if self.type_first else f"{self.core} {word}"

    def search_terms(self) -> list[str]:
        """Every form a search should match (lower case): the full and short Ukrainian forms,
        the other abbreviations of the type, the English name and the full transliteration."""
        terms = [self.full_uk, self.short_uk]
        if self.type:
            terms += list(self.type.aliases)
            terms.append(latin_of(self.full_uk))
        terms.append(self.english)
        seen: dict[str, None] = {}
        for term in terms:
            seen.setdefault(term.lower(), None)
        return list(seen)


@lru_cache(maxsize=8192)
def latin_of(text: str) -> str:
    """Latin letters by the national table of 2010 (KMU resolution No. 55)."""
    return translit(text, UkrainianKMU)


@lru_cache(maxsize=8192)
def street_name(name: str) -> StreetName:
    """`name` split into its type word and core. The type word counts when it opens the name
    ("вул. Шевченка") or closes it ("Запорізьке шосе"); abbreviations become the full word.
    A name that is only a type word ("Набережна") is a core, not a type."""
    text = clean(name)
    words = text.split(" ")
    if len(words) > 1:
        first = _BY_SPELLING.get(words[0].lower())
        if first:
            return StreetName(" ".join(words[1:]), first, True)
        last = _BY_SPELLING.get(words[-1].lower())
        if last:
            return StreetName(" ".join(words[:-1]), last, False)
    # "вул.Шевченка": the abbreviation glued to the name.
    match = re.match(r"^([^\W\d_]+[.\-])(\S.*)$", text)
    if match and match.group(1).lower() in _BY_SPELLING:
        return StreetName(match.group(2), _BY_SPELLING[match.group(1).lower()], True)
    return StreetName(text, None, True)


def house_number(value: str) -> str:
    """A house number as printed on the plate: "12а", "12/1", "12 к.2" (spaces tidied)."""
    return clean(value)


def house_terms(value: str) -> list[str]:
    """A house number and the spellings people type for it ("12-а", "12 а" -> "12а")."""
    number = house_number(value).lower()
    joined = re.sub(r"(?<=\d)[\s-]+(?=[^\W\d_])", "", number)
    return list(dict.fromkeys([number, joined]))


def address_search_text(street: StreetName, number: str, *, limit: int = 500) -> str:
    """The gazetteer's `search_text`: every form of the street and of the number, lower case
    (`layers.selectors.address_search` matches each typed word as a substring)."""
    text = " ".join([*street.search_terms(), *house_terms(number)])
    return text[:limit]
