"""Real public data end to end (``../shared/data/real``, never copied into the repository).

Every real file with a reader is imported and checked against numbers read from the file by
other means. The tests skip only when the folder is absent: when it exists, a missing file or a
broken check fails (in CI and locally alike).
"""

from __future__ import annotations

import csv
import hashlib
import json

import pandas as pd
import pytest
from conftest import REAL_DIR

from tmb_analysis.catalogue import catalogue
from tmb_analysis.sources import read_source, skr_group_code
from tmb_analysis.store import DERIVED_POPULATION_SOURCE, import_paths, load_store

pytestmark = pytest.mark.realdata

DALARNA = "bra_kommunindikatorer_dalarna/bra_kommunindikatorer.derived.csv"
P1M_CSV = "bra_national_p1m_2024/brott.csv"
P1M_XLSX = "bra_national_p1m_2024/brott.xlsx"
SERIES = "bra_kommun_1996_2015_hack4sweden/brott.csv"
GROUPS = "kolada_kommungrupper_rkolada/kolada_municipality_groups_2026.derived.csv"
SKR_2023 = "kolada_kommungrupper_rkolada/skr_kommungrupp_2023_per_kommun.derived.csv"
POPULATION = "scb_folkmangd_nov_2024/population.csv"
DALARNA_CODES = {
    "Vansbro": "2021",
    "Malung-Sälen": "2023",
    "Gagnef": "2026",
    "Leksand": "2029",
    "Rättvik": "2031",
    "Orsa": "2034",
    "Älvdalen": "2039",
    "Smedjebacken": "2061",
    "Mora": "2062",
    "Falun": "2080",
    "Borlänge": "2081",
    "Säter": "2082",
    "Hedemora": "2083",
    "Avesta": "2084",
    "Ludvika": "2085",
    "Dalarnas län": "20",
    "Hela landet": "00",
}


def real(rel: str):
    if not REAL_DIR.is_dir():
        pytest.skip(f"real data not available ({REAL_DIR})")
    path = REAL_DIR / rel
    assert path.is_file(), f"{path} is missing although {REAL_DIR} exists"
    return path


def _one(df, **where):
    sel = df
    for k, v in where.items():
        sel = sel[sel[k] == v]
    assert len(sel) == 1, (where, len(sel))
    return sel.iloc[0]


@pytest.fixture(scope="module")
def dalarna_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("real") / "store"
    report = import_paths([real(DALARNA)], store)
    assert report.warnings == []  # Dalarnas län's published counts equal the sums of its 15 kommuner
    return store


@pytest.fixture(scope="module")
def dalarna_results(dalarna_store):
    from tmb_analysis.results import compute_results

    return compute_results(load_store(dalarna_store))


# ---- BRÅ lägesbild, Dalarna: the results table against the source ----------------------------


def test_results_match_published_counts_and_rates(dalarna_results):
    res = dalarna_results
    falun = _one(res, area_code="2080", indicator="totalt", year=2023)
    assert (falun["count"], falun["value"]) == (5043, 8419)
    assert falun["area_name"] == "Falun" and falun["area_level"] == "kommun" and falun["source_kind"] == "crime"
    assert falun["population"] == round(5043 / 8419 * 100_000)  # derived from BRÅ's count and rate (no SCB file)
    assert falun["population_source"] == DERIVED_POPULATION_SOURCE
    assert falun["ci_low"] < 8419 < falun["ci_high"]
    assert _one(res, area_code="20", indicator="totalt", year=2023)["area_level"] == "lan"
    riket = _one(res, area_code="00", indicator="totalt", year=2023)
    assert (riket["count"], riket["value"], riket["area_level"]) == (1511882, 14349, "riket")

    # every published count and rate, read from the file independently of the readers
    raw = pd.read_csv(real(DALARNA), dtype=str, keep_default_na=False)
    crime = raw[raw["kalla"] == "Anmälda brott"].copy()
    crime["area_code"] = crime["geografi"].map(DALARNA_CODES)
    crime["indicator"] = crime["variabel"].map(lambda v: catalogue().from_bra_name(v).id)
    crime["year"] = crime["ar"].astype(int)
    crime["v"] = pd.to_numeric(crime["varde"], errors="coerce")
    wide = crime.pivot_table(
        index=["area_code", "year", "indicator"], columns="enhet", values="v", aggfunc="first"
    ).reset_index()
    both = wide.merge(res[res["source_kind"] == "crime"], on=["area_code", "year", "indicator"], how="left")
    assert len(wide) == 17 * 15 * 8 and both["value"].notna().all()
    assert (both["count"].astype(float) == both["Antal"]).all()
    assert (both["value"].astype(float) == both["Antal per 100 000 inv"]).all()


def test_results_match_published_ntu(dalarna_results):
    res = dalarna_results
    o = _one(res, area_code="2080", indicator="otrygghet_kvall", year=2023)
    assert (o["value"], o["ci_low"], o["ci_high"], o["n_respondents"]) == (21, 17, 25, 447)
    assert o["source_kind"] == "survey"
    m = _one(res, area_code="2080", indicator="utsatt_misshandel", year=2023)
    assert (m["value"], m["ci_low"], m["ci_high"]) == (1.6, 0.7, 2.9)
    raw = pd.read_csv(real(DALARNA), dtype=str, keep_default_na=False)
    n = raw[raw["variabel"] == "Antal svarande i NTU."]
    n = {(DALARNA_CODES[g], int(y)): int(float(v)) for g, y, v in zip(n["geografi"], n["ar"], n["varde"])}
    survey = res[res["source_kind"] == "survey"]
    # every NTU row carries the respondents of the survey that measured it: the survey year itself,
    # or for self-reported victimisation (labelled by reference year) the next one
    exposed = survey["theme"] == "utsatthet"
    ntu_year = survey["year"] + exposed.astype(int)
    expected = [n.get((a, y)) for a, y in zip(survey["area_code"], ntu_year)]
    assert [None if pd.isna(v) else int(v) for v in survey["n_respondents"]] == expected
    assert None not in expected


def test_provenance_of_the_real_file(dalarna_store):
    st = load_store(dalarna_store)
    rec = st.sources[0]
    data = real(DALARNA).read_bytes()
    assert rec["sha256"] == hashlib.sha256(data).hexdigest() and rec["file"] == "bra_kommunindikatorer.derived.csv"
    assert rec["publisher"] == "Brå" and rec["synthetic"] is False and rec["status"] == "final"
    assert set(st.crime["source_sha256"]) == {rec["sha256"]}


def test_dalarna_default_round_is_crime_2024_and_ntu_2025(dalarna_store):
    """BRÅ's real Dalarna file holds crime to 2024 and NTU to 2025: by default Falun's report shows both,
    with the funnel, map and priority matrix of 2024 crime (not an empty 2025)."""
    from tmb_analysis import report

    ctx = report.context("2080", dalarna_store, 0, kind="kommun")
    assert (ctx.year, ctx.crime_year, ctx.survey_year) == (2025, 2024, 2025)
    assert "Dalarnas län · anmälda brott 2024, NTU 2025" in report.kommun_title(ctx).data
    assert "utsatthet för brott avser året före undersökningen: 2016–2024" in report.kort_om(ctx).data
    funnel = report.funnel_figure(ctx, "totalt").data
    assert "tmb-figure" in funnel and "totalt antal anmälda brott 2024" in funnel
    assert "tmb-figure" in report.map_figure(ctx, "totalt").data
    assert "tmb-figure" in report.matrix_figure(ctx).data
    assert "Skadeviktat brottsindex 2024: " in report.harm_index_summary(ctx).data
    rows = report._latest(ctx)
    assert len(rows[rows.source_kind == "crime"]) == 15 and len(rows[rows.source_kind == "survey"]) == 20


def _databasfil_from_dalarna(path):
    """A coordinator's SOL export: 'Totalt antal brott' for Dalarna's 15 kommuner only (no län, no riket), in
    Databasfil.txt's layout (ISO-8859-1, ';', spaced numbers, trailing ';'), from the real Dalarna totals."""
    raw = pd.read_csv(real(DALARNA), dtype=str, keep_default_na=False)
    tot = raw[
        (raw["variabel"] == "Totalt antal anmälda brott") & ~raw["geografi"].isin(["Dalarnas län", "Hela landet"])
    ]
    wide = tot.pivot_table(index=["geografi", "ar"], columns="enhet", values="varde", aggfunc="first").reset_index()
    lines = ["Region;Brott;År;Period;Antal;/100 000 inv"]
    for r in wide.itertuples(index=False):
        count, rate = (f"{int(float(v)):,}".replace(",", " ") for v in (r[2], r[3]))
        lines.append(f"{r.geografi};Totalt antal brott;År;{r.ar};{count};{rate};")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    return wide


def test_one_county_databasfil_compares_every_kommun_with_its_derived_county(tmp_path):
    from tmb_analysis import report
    from tmb_analysis.benchmarks import BENCHMARK_DERIVED
    from tmb_analysis.results import compute_results

    wide = _databasfil_from_dalarna(tmp_path / "Databasfil.txt")
    assert len(wide) == 15 * 8
    store = tmp_path / "store"
    import_paths([tmp_path / "Databasfil.txt"], store)
    res = compute_results(load_store(store))
    lan = _one(res, area_code="20", indicator="totalt", year=2024)
    # the county is the sum of its kommuner: the same total BRÅ publishes for Dalarnas län in the long form
    published = pd.read_csv(real(DALARNA), dtype=str, keep_default_na=False)
    dal = published[
        (published["geografi"] == "Dalarnas län")
        & (published["variabel"] == "Totalt antal anmälda brott")
        & (published["ar"] == "2024")
        & (published["enhet"] == "Antal")
    ]["varde"]
    assert lan["count"] == int(float(dal.iloc[0])) and lan["benchmark_source"] == BENCHMARK_DERIVED
    kom = res[(res.area_level == "kommun") & (res.indicator == "totalt") & (res.year == 2024)]
    assert len(kom) == 15 and kom["lan_value"].notna().all() and (kom["cmp_lan"] != "unknown").all()
    assert not (res.area_code == "00").any()  # one county is not the country: no riket is made up
    ctx = report.context("2080", store, 0, kind="kommun")
    assert "anmälda brott 2024, NTU saknas" in report.kommun_title(ctx).data
    blocks = report.theme_blocks(ctx).data
    assert "beräknade från kommunerna" in blocks
    funnel = report.funnel_figure(ctx, "totalt").data
    assert "av de 15 kommuner som finns i datalagret" in funnel and "i landet" not in funnel
    assert "kring genomsnittet för de 15 kommuner som finns i datalagret" in funnel
    assert (
        "tmb-figure" not in report.matrix_figure(ctx).data and "rikets värden saknas" in report.matrix_figure(ctx).data
    )
    assert "Nationella trygghetsundersökningen (NTU) saknas" in report.kort_om(ctx).data
    assert "Trygghetsundersökningen (NTU)" not in blocks  # no empty NTU group under a theme


@pytest.mark.slow
def test_dalarna_overview_and_falun_report_build(dalarna_site):
    """The Dalarna overview and Falun's report build from the real file (all 15 kommuner of län 20)."""
    _, out = dalarna_site
    assert (out / "lan-20.html").is_file() and (out / "kommun-2080.html").is_file()
    page = (out / "kommun-2080.html").read_text("utf-8")
    assert "Falun" in page and "Exempeldata" not in page
    # the default report: crime 2024 with its funnel, map and matrix, beside NTU 2025
    assert "Dalarnas län · anmälda brott 2024, NTU 2025" in page
    for fig in ('data-figure="tratt-totalt"', 'data-figure="karta-totalt"', 'data-figure="prioriteringsmatris"'):
        assert fig in page
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["synthetic_data"] is False
    assert [i["file"] for i in manifest["inputs"]] == ["bra_kommunindikatorer.derived.csv"]
    rows = list(csv.reader((out / "data" / "indicators.csv").read_text("utf-8-sig").splitlines(), delimiter=";"))
    head = rows[0]
    falun = [
        r
        for r in rows[1:]
        if r[head.index("area_code")] == "2080"
        and r[head.index("indicator")] == "totalt"
        and r[head.index("year")] == "2023"
    ]
    assert len(falun) == 1 and falun[0][head.index("count")] == "5043" and falun[0][head.index("value")] == "8419"


# ---- BRÅ table P1M (national, preliminary 2024) ------------------------------------------------

P1M_2024 = {"totalt": 1478879, "skadegorelse": 198810, "narkotika": 129595, "trafikbrott": 63392, "ran_unga": 971}


@pytest.mark.parametrize("rel", [P1M_CSV, P1M_XLSX])
def test_p1m(rel):
    t = read_source(real(rel))
    c = t.crime
    assert set(c["area_code"]) == {"00"} and set(c["year"]) == {2024} and set(c["status"]) == {"preliminary"}
    assert c.set_index("indicator")["count"].to_dict() == P1M_2024
    rate = _one(c, indicator="totalt")["rate_per_100k"]
    assert round(rate) == 14016  # '14 016 ' in the CSV, 14015.54… in the workbook
    assert len(t.provenance["not_imported"]) == 867  # every other crime type is listed, none dropped silently
    if rel == P1M_XLSX:
        assert t.provenance["published"] == "2025-01-23"  # "Första publicering" on the Information sheet


# ---- the 1996–2015 series -------------------------------------------------------------------------


def test_series_1996_2015():
    t = read_source(real(SERIES))
    c = t.crime
    assert c["area_code"].nunique() == 290 and (c["year"].min(), c["year"].max()) == (1996, 2015)
    assert _one(c, area_code="2180", year=2015)["rate_per_100k"] == 12470  # 1247 per 10 000 (assumed unit)
    assert _one(c, area_code="0180", year=2015)["rate_per_100k"] == 23540
    assert c[c["area_code"] == "0330"]["year"].min() == 2003  # Knivsta
    assert c[c["area_code"] == "0140"]["year"].min() == 2001  # Nykvarn: '.' before
    assert c["count"].isna().all() and len(c) == 290 * 20 - 7 - 5
    assert "per 10 000" in t.provenance["assumption"]


# ---- Kolada municipality groups -------------------------------------------------------------------


def test_kolada_groups_real():
    t = read_source(real(GROUPS))
    g = t.groups
    assert len(g) == 26573 - 0  # every member row kept
    skr = g[g["group_kind"] == "skr_kommungrupp"]
    assert skr["area_code"].nunique() == 290 and len(skr) == 290
    code = skr.set_index("area_code")["group_title"].map(skr_group_code)
    assert code.value_counts().to_dict() == {
        "B4": 63,
        "C7": 51,
        "A2": 43,
        "C8": 35,
        "C6": 27,
        "B5": 24,
        "B3": 23,
        "C9": 21,
        "A1": 3,
    }
    ref = pd.read_csv(real(SKR_2023), dtype=str).set_index("kommun_kod")["gruppkod_2023"]
    assert (code.sort_index() == ref.sort_index()).all()
    assert (code["2101"], code["2104"], code["2180"]) == ("B4", "C7", "B3")  # Ockelbo, Hofors, Gävle (2023)
    peers = g[g["group_title"] == "Liknande kommuner, övergripande, Gävle, 2025"]
    names = {"0581", "0780", "1380", "1490", "2080", "2281", "2482"}  # Norrköping, Växjö … Skellefteå
    assert (
        set(peers["area_code"]) == names
        and set(peers["subject_code"]) == {"2180"}
        and set(peers["group_id"]) == {"G37381"}
    )
    overall = g[g["group_title"].str.startswith("Liknande kommuner, övergripande")]
    assert overall["subject_code"].nunique() == 290 and overall["subject_code"].notna().all()


# ---- SCB population (1 November 2024) ----------------------------------------------------------------


def test_scb_population_csv_via_cli(tmp_path, capsys):
    from tmb_analysis.cli import main

    store = tmp_path / "store"
    assert main(["import", str(real(POPULATION)), "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "population.csv" in err[0] and "--year" in err[0]
    assert not store.exists()
    assert main(["import", str(real(POPULATION)), "--store", str(store), "--year", "2024"]) == 0
    pop = pd.read_parquet(store / "population.parquet")
    assert len(pop) == 290 and int(pop["population"].sum()) == 10_587_140
    assert int(pop.set_index("area_code").loc["2180", "population"]) == 103_741
    assert set(pop["source"]) == {"SCB: Folkmängd"}


# ---- everything together ------------------------------------------------------------------------------


def test_all_real_files_in_one_store(tmp_path):
    from tmb_analysis.results import compute_results

    store = tmp_path / "store"
    files = [real(DALARNA), real(SERIES), real(GROUPS), real(POPULATION), real(P1M_XLSX)]
    report = import_paths(files, store, year=2024)
    # P1M's preliminary national 2024 figures never replace the final ones of the lägesbild
    assert report.tables["crime"].kept_final == 5
    st = load_store(store)
    assert _one(st.crime, area_code="00", year=2024, indicator="totalt")["count"] == 1489319
    assert _one(st.crime, area_code="00", year=2024, indicator="totalt")["status"] == "final"
    assert {s["publisher"] for s in st.sources} == {"Brå", "SCB", "Kolada (RKA)"}
    # SCB population where imported (2024), derived elsewhere
    assert _one(st.population, area_code="2080", year=2024)["source"] == "SCB: Folkmängd"
    assert _one(st.population, area_code="2080", year=2023)["source"] == DERIVED_POPULATION_SOURCE
    res = compute_results(st)
    falun = _one(res, area_code="2080", indicator="totalt", year=2023)
    assert (falun["count"], falun["value"]) == (5043, 8419)
    old = _one(res, area_code="2080", indicator="totalt", year=2005)  # from the 1996–2015 series
    assert pd.isna(old["count"]) and old["value"] > 0
    # importing them all again changes nothing
    again = import_paths(files, store, year=2024)
    assert again.changed is False


# ---- the Kolada KPIs mapped to the catalogue exist, with the titles they are mapped by -------------

KOLADA_CATALOGUE = "kolada_kommungrupper_rkolada/kolada_kpi_crime_safety_2026.derived.csv"
KPI_WORDS = {  # catalogue id -> words the Kolada title must contain
    "totalt": ["brott totalt", "100 000"],
    "narkotika": ["narkotikabrott", "100 000"],
    "bostadsinbrott": ["bostadsinbrott"],
    "bilbrott": ["bilbrott"],
    "trafikbrott": ["trafikbrott"],
    "otrygghet_kvall": ["otrygghet", "sen kväll"],
    "oro_misshandel": ["oro", "misshandel"],
    "oro_sexualbrott": ["oro", "våldtäkt"],
    "oro_bostadsinbrott": ["oro", "bostadsinbrott"],
    "oro_bilbrott": ["oro", "bil"],
    "valt_annan_vag": ["annan väg"],
    "avstatt_aktivitet": ["avstått", "aktivitet"],
    "problem_skadegorelse": ["problem", "skadegörelse"],
    "problem_klotter": ["problem", "klotter"],
    "problem_fortkorning": ["problem", "fortkörning"],
    "problem_storande_korning": ["problem", "störande körning"],
    "problem_paverkade": ["problem", "påverkade"],
    "problem_gang": ["problem", "gäng"],
    "problem_narkotikahandel": ["problem", "narkotikahandel"],
    "utsatt_misshandel": ["utsatthet", "misshandel"],
    "utsatt_sexualbrott": ["utsatthet", "sexualbrott"],
    "utsatt_ran": ["utsatthet", "rån"],
    "utsatt_forsaljningsbedrageri": ["utsatthet", "försäljningsbedrägeri"],
    "utsatt_kortbedrageri": ["utsatthet", "kort"],
    "utsatt_cykelstold": ["utsatthet", "cykelstöld"],
}


def test_kolada_kpi_mapping_against_the_catalogue():
    from tmb_analysis.sources import KOLADA_KPIS

    kpis = pd.read_csv(real(KOLADA_CATALOGUE), dtype=str).set_index("id")["title"]
    for kpi, (ind, part) in KOLADA_KPIS.items():
        assert kpi in kpis.index, kpi
        title = kpis[kpi].casefold()
        assert all(w in title for w in KPI_WORDS[ind]), (kpi, title)
        assert title.startswith("osäkerhetstal") == (part == "ci_half_pct"), (kpi, title)
        assert ("andel (%)" in title) == (part != "rate_per_100k"), (kpi, title)
