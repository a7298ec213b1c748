import pytest

from tmb_analysis.catalogue import THEMES, UnknownIndicatorError, catalogue, load_catalogue


def test_catalogue_has_bras_lagesbild_set():
    cat = catalogue()
    assert len(cat.of_kind("crime")) == 15
    assert len(cat.of_kind("survey")) == 20
    for ind in cat:
        assert ind.theme in THEMES
        assert ind.unit == ("per_100k" if ind.source_kind == "crime" else "percent")
        assert ind.worse in ("higher", "lower")
        assert ind.id.isascii() and ind.id == ind.id.lower()


@pytest.mark.parametrize(
    "name, ident",
    [
        ("Totalt antal anmälda brott", "totalt"),
        ("Våld i nära relationer, mot kvinnor", "vald_nara_kvinnor"),
        ("Våld i nära relationer mot kvinnor", "vald_nara_kvinnor"),
        ("Stöld och tillgreppsbrott, totalt", "stold_totalt"),
        ("Rån mot privatperson, unga", "ran_unga"),
        (
            "Oro för att utsättas för bostadsinbrott enligt NTU. Andel (%) i befolkningen (16–84 år) som oroar sig ganska/mycket ofta.",
            "oro_bostadsinbrott",
        ),
        (
            "Oro för att utsättas för bostadsinbrott enligt NTU. Andel (%) i befolkningen (16-84 år) som oroar sig ganska/mycket ofta",
            "oro_bostadsinbrott",
        ),
        ("PROBLEM MED GÄNG SOM UPPEHÅLLER SIG I DET EGNA BOSTADSOMRÅDET", "problem_gang"),
    ],
)
def test_bra_names_map(name, ident):
    assert catalogue().from_bra_name(name).id == ident


def test_respondent_sheet_is_not_an_indicator():
    cat = catalogue()
    assert cat.is_respondent_count("Antal svarande i NTU.")
    with pytest.raises(UnknownIndicatorError):
        cat.from_bra_name("Antal svarande i NTU.")


def test_unknown_indicator_errors_name_the_input():
    with pytest.raises(UnknownIndicatorError, match="Fickstöld på Mars"):
        catalogue().from_bra_name("Fickstöld på Mars")
    with pytest.raises(UnknownIndicatorError, match="known ids"):
        catalogue().get("nope")


def test_bad_catalogue_file_is_reported(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("crime:\n  - id: x\n    label: X\n    theme: astrologi\n    bra_names: [X]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="astrologi"):
        load_catalogue(p)


def test_victimisation_is_measured_in_the_next_ntu_year():
    """BRÅ's titles say so: 'Självrapporterad utsatthet för misshandel 2016–2024, enligt NTU 2017–2025'."""
    cat = catalogue()
    exposed = {i.id for i in cat if i.ntu_year_offset == 1}
    assert exposed == {i.id for i in cat.of_kind("survey") if i.theme == "utsatthet"}
    assert cat.get("utsatt_misshandel").ntu_year(2016) == 2017
    assert cat.get("otrygghet_kvall").ntu_year(2025) == 2025
    assert cat.get("totalt").ntu_year_offset == 0


def test_titles_of_the_april_2025_workbook_edition_map():
    cat = catalogue()
    assert cat.from_bra_name("Självrapporterad utsatthet för kort-/kreditbedrägeri").id == "utsatt_kortbedrageri"
    assert (
        cat.from_bra_name("Problem med personer påverkade av alkohol eller droger utomhus i det egna bostadsområdet").id
        == "problem_paverkade"
    )


def test_reference_year_list_must_name_ntu_indicators(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        "crime:\n  - id: x\n    label: X\n    theme: totalt\n    bra_names: [X]\n"
        "ntu_reference_year: {offset: 1, indicators: [x]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="not NTU indicators"):
        load_catalogue(p)


def test_comparable_from_marks_the_recording_changes_of_the_riket_series():
    """Filled from BRÅ's real Hela landet rows: the domestic-violence flag was phased in 2018–2020
    (2 289 → 40 764 cases for women), bilbrott was redefined in 2018 (11 896 → 57 046)."""
    cat = catalogue()
    assert cat.get("vald_nara_kvinnor").comparable_from == 2020
    assert cat.get("vald_nara_man").comparable_from == 2020
    assert cat.get("bilbrott").comparable_from == 2018
    assert cat.get("totalt").comparable_from is None
    assert dict(zip(cat.frame().indicator, cat.frame().comparable_from))["bilbrott"] == 2018


@pytest.mark.parametrize("bad", ["2020", 20.5, True, 1066])
def test_bad_comparable_from_is_reported(tmp_path, bad):
    p = tmp_path / "bad.yaml"
    p.write_text(
        f"crime:\n  - id: x\n    label: X\n    theme: våld\n    bra_names: [X]\n    comparable_from: {bad!r}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="comparable_from"):
        load_catalogue(p)


def test_every_indicator_has_a_one_line_definition_with_its_denominator():
    """Issue 13: a reader must know what is counted and per what; 'våld mot kvinnor' is per 100 000
    inhabitants of all ages and both sexes, not per 100 000 women."""
    for ind in catalogue():
        d = ind.definition
        assert d and d.endswith(".") and "\n" not in d and len(d) < 220, ind.id
        if ind.source_kind == "crime":
            assert "per 100\u00a0000 invånare" in d, ind.id
        else:
            assert d.startswith("Andel av"), ind.id
    women = catalogue().get("vald_nara_kvinnor").definition
    assert "alla åldrar, båda könen" in women and "inte per 100\u00a0000 kvinnor" in women


def test_a_definition_on_two_lines_is_refused(tmp_path):
    import yaml

    from tmb_analysis.config import read_config

    raw, _ = read_config("indicators")
    raw["crime"][0]["definition"] = "första raden\nandra raden"
    bad = tmp_path / "indicators.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=r"indicators\.yaml: totalt: definition must be one line"):
        load_catalogue(bad)
