import pytest

from tmb_analysis.geography import RIKET_CODE, UnknownAreaError, registry

GAVLEBORG = {
    "2101": "Ockelbo", "2104": "Hofors", "2121": "Ovanåker", "2132": "Nordanstig", "2161": "Ljusdal",
    "2180": "Gävle", "2181": "Sandviken", "2182": "Söderhamn", "2183": "Bollnäs", "2184": "Hudiksvall",
}


def test_counts_and_codes():
    reg = registry()
    kommuner = reg.kommuner()
    assert len(kommuner) == 290
    assert len(reg.all_lan()) == 21
    assert len({k.code for k in kommuner}) == 290
    assert all(len(k.code) == 4 and k.code.isdigit() for k in kommuner)
    # every kommun lies in a län that exists
    lan_codes = {a.code for a in reg.all_lan()}
    assert {k.lan_code for k in kommuner} == lan_codes


def test_gavleborg_matches_scb():
    reg = registry()
    assert reg.lan("21").name == "Gävleborgs län"
    assert {k.code: k.name for k in reg.kommuner("21")} == GAVLEBORG


@pytest.mark.parametrize(
    "name, code",
    [
        ("Gävle", "2180"),
        ("Gävle kommun", "2180"),
        ("GÄVLE KOMMUN", "2180"),
        ("Hudiksvalls kommun", "2184"),
        ("Malung–Sälen", "2023"),  # en dash
        ("Malung—Sälen", "2023"),  # em dash
        ("Malung-Sälens kommun", "2023"),
        ("Upplands Väsby", "0114"),
        ("Arjeplogs kommun", "2506"),
        ("Ale kommun", "1440"),
        ("Borås kommun", "1490"),  # genitive of a name ending in s has no extra s
        ("Falu kommun", "2080"),  # irregular genitive
        ("Region Gotland", "0980"),
        ("Stockholm", "0180"),  # a bare name is the kommun, not the län
        ("Stockholms län", "01"),
        ("Dalarnas län", "20"),
        ("Dalarna", "20"),
        ("Hela landet", RIKET_CODE),
        ("Riket", RIKET_CODE),
        ("2180", "2180"),
        (" 21 ", "21"),
    ],
)
def test_lookup_forms(name, code):
    assert registry().lookup(name).code == code


@pytest.mark.parametrize("bad", ["Atlantis", "Gävle stadsdel Norr", "9999", "99", "../x", "CON", ""])
def test_unknown_names_and_codes_raise(bad):
    with pytest.raises(UnknownAreaError) as err:
        registry().lookup(bad)
    assert repr(bad.strip()) in str(err.value) or repr(bad) in str(err.value)


def test_area_rejects_non_codes():
    reg = registry()
    with pytest.raises(UnknownAreaError, match="not an area code"):
        reg.area("../x")
    with pytest.raises(UnknownAreaError, match="unknown area code '0000'"):
        reg.area("0000")
    with pytest.raises(UnknownAreaError, match="not a län code"):
        reg.lan("2180")


def test_geometry_one_feature_per_kommun():
    reg = registry()
    g = reg.kommun_geometry()
    assert len(g) == 290 and g["area_code"].is_unique
    g21 = reg.kommun_geometry("21")
    assert sorted(g21["area_code"]) == sorted(GAVLEBORG)
    assert g21.crs.to_epsg() == 4326
    # Gävleborg lies between about 60 and 62.5 degrees north
    minx, miny, maxx, maxy = g21.total_bounds
    assert 59.5 < miny < maxy < 63 and 13 < minx < maxx < 18
