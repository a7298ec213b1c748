"""The layout knowledge of BRÅ's lägesbild workbook (tmb_analysis/bra_workbook.py), on titles and labels
as the public readers quote them."""

import pytest

from tmb_analysis.bra_workbook import EDITIONS, crime_title, ntu_title, year_label


def test_titles_of_the_editions():
    t = ntu_title(
        "Självrapporterad utsatthet för kort-/kreditbedrägeri 2016–2023, enligt NTU 2017–2024. "
        "Andel (%) utsatta i befolkningen (16–84 år)."
    )
    assert (t.name, t.reference, t.survey) == (
        "Självrapporterad utsatthet för kort-/kreditbedrägeri",
        (2016, 2023),
        (2017, 2024),
    )
    assert t.unit == "Andel (%) utsatta i befolkningen (16–84 år)." and not t.multiline
    t = ntu_title(
        "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet, enligt NTU 2017-2024. Andel (%) i "
        "befolkningen (16–84 år) som känner sig ganska/mycket otrygga."
    )
    assert (t.name, t.reference, t.survey) == (
        "Otrygghet vid utevistelse sent på kvällen i det egna bostadsområdet",
        None,
        (2017, 2024),
    )
    t = ntu_title(
        "Oro för att utsättas för misshandel, enligt NTU 2017–2025.\n\nAndel (%) i befolkningen (16–84 år) som oroar "
        "sig ganska/mycket ofta"
    )  # April 2026: the unit on its own line
    assert t.multiline and t.unit == "Andel (%) i befolkningen (16–84 år) som oroar sig ganska/mycket ofta"
    assert ntu_title("Antal svarande i NTU.").name == "Antal svarande i NTU."
    assert (
        crime_title("Rån mot privatperson, unga (anmälda brott) i kommunen, länet och hela landet, 2017–2024")
        == "Rån mot privatperson, unga"
    )


@pytest.mark.parametrize(
    "label, years",
    [
        (2024, (2024, 2024)),
        ("2024", (2024, 2024)),
        ("2017/2018", (2017, 2018)),
        ("Andel (%) 2017/2018", (2017, 2018)),
        ("Antal per 100 000 inv 2024", (2024, 2024)),
        ("Falun", None),
        ("Andel (%)", None),
        (None, None),
    ],
)
def test_year_labels(label, years):
    assert year_label(label) == years


def test_every_edition_names_its_evidence():
    assert [e.id for e in EDITIONS] == ["2025-04", "2025-12", "2026-04"]
    assert all(e.evidence and e.ntu_layout in ("periods", "blocks") for e in EDITIONS)
