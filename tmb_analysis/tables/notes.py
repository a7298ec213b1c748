"""The words around a table: column headings, the explanation of the symbols, sources, recording changes."""

from __future__ import annotations

from .. import formatting as F
from ._common import NBSP

HEADINGS = (
    "Indikator",
    "Värde",
    f"95{NBSP}% konfidensintervall",
    "Jämfört med länet",
    "Jämfört med riket",
    "Trend (% per år)",
)
LAN_HEADINGS = ("Kommun",) + HEADINGS[1:]

SOURCE_NOTE = {
    "crime": "Källa: Brå (anmälda brott), SCB (folkmängd)",
    "survey": "Källa: Brå, Nationella trygghetsundersökningen (NTU)",
}


#: What each of Brå's sources is called where a credit names them, in this order.
BRA_SOURCES = {"crime": "anmälda brott", "survey": "Nationella trygghetsundersökningen, NTU"}


def bra_sources(kinds) -> str:
    """Brå's sources among ``kinds``, named in words: 'anmälda brott och Nationella
    trygghetsundersökningen, NTU' for both, '' for none."""
    kinds = set(kinds)
    return F.join_words(word for kind, word in BRA_SOURCES.items() if kind in kinds)


def sources_note(kinds, scb_population: bool = True) -> str:
    """The sources of a table's rows in one sentence, 'Källa:' once: 'Källor: Brå (anmälda brott och
    Nationella trygghetsundersökningen, NTU) och SCB (folkmängd).' Without SCB's population in the store
    (``scb_population`` False) the population is said to be derived from Brå's counts and rates."""
    kinds = set(kinds) & set(SOURCE_NOTE)
    derived = "folkmängden härledd ur Brå:s antal och antal per 100 000 invånare"
    if "crime" in kinds and not scb_population:
        return f"Källa: Brå ({bra_sources(kinds)}; {derived})."
    if kinds == {"crime", "survey"}:
        return f"Källor: Brå ({bra_sources(kinds)}) och SCB (folkmängd)."
    return "".join(SOURCE_NOTE[k] + "." for k in kinds)


EXPLANATION = (
    f"{F.COMPARISON_TEXT['higher'][0]} Högre / {F.COMPARISON_TEXT['lower'][0]} Lägre: skillnaden mot "
    "jämförelsevärdet är större än vad variationen från år till år och mellan kommuner ger av en slump "
    f"(95{NBSP}%, en jämförelse i taget; länet utan kommunen själv). "
    f"{F.COMPARISON_TEXT['similar'][0]} Ingen säker skillnad: inom den variationen. "
    "Trenden gäller de senaste fem jämförbara åren; Ökar eller Minskar bara när hela intervallet "
    "för den årliga förändringen ligger på samma sida om noll."
)


def recording_note(indicators, first_year: int, last_year: int) -> str:
    """'Våld i nära relationer mot kvinnor: registreringen ändrades, jämförbart från 2020.' for the
    indicators shown whose series changes within the years shown (``comparable_from`` in the
    indicator catalogue), '' when none does."""
    from ..catalogue import catalogue

    cat = catalogue()
    parts = []
    for ind in dict.fromkeys(indicators):
        if ind in cat and cat.get(ind).comparable_from and first_year < cat.get(ind).comparable_from <= last_year:
            parts.append(
                f"{cat.get(ind).label}: registreringen ändrades, jämförbart från {cat.get(ind).comparable_from}"
            )
    return ("; ".join(parts) + ".") if parts else ""
