"""The synthetic example dataset: deterministic, complete, consistent and plausible, in the real formats."""

import csv
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from tmb_analysis.geography import RIKET_CODE, registry
from tmb_analysis.sample import KOLADA_FILE, MANIFEST_NAME, NOTE, SCB_FILE, sample_files, write_sample
from tmb_analysis.sample_context import CONTEXT_FILE
from tmb_analysis.sources import read_source


@pytest.fixture(scope="module")
def tables(sample_dir):
    """All sample files read back through the real readers (crime, survey, population, provenance)."""
    out = {"crime": [], "survey": [], "population": [], "groups": [], "context": [], "prov": []}
    for path in sorted(sample_dir.iterdir()):
        if path.name == MANIFEST_NAME:
            continue
        t = read_source(path)
        for name in ("crime", "survey", "population", "groups", "context"):
            out[name].append(t.table(name).assign(file=path.name))
        out["prov"].append(t.provenance)
    return {k: (pd.concat(v, ignore_index=True) if k != "prov" else v) for k, v in out.items()}


def test_files_written(sample_dir):
    names = sorted(p.name for p in sample_dir.iterdir())
    lan = [a.code for a in registry().all_lan()]
    assert names == sorted(
        [f"exempeldata_bra_kommunindikatorer_{c}.csv" for c in lan]
        + [SCB_FILE, KOLADA_FILE, CONTEXT_FILE, MANIFEST_NAME]
    )
    manifest = json.loads((sample_dir / MANIFEST_NAME).read_text("utf-8"))
    assert manifest["note"] == NOTE == "Exempeldata – inte verklig statistik"
    listed = {f["name"]: f["sha256"] for f in manifest["files"]}
    assert set(listed) == set(names) - {MANIFEST_NAME}
    for name, digest in listed.items():
        assert hashlib.sha256((sample_dir / name).read_bytes()).hexdigest() == digest


def test_deterministic(tmp_path, sample_dir):
    paths = write_sample(tmp_path / "again")
    assert len(paths) == 25
    for p in paths:  # byte-identical to the session's run
        assert p.read_bytes() == (sample_dir / p.name).read_bytes(), p.name
    other = sample_files(seed=7)
    assert (
        other["exempeldata_bra_kommunindikatorer_21.csv"]
        != (sample_dir / "exempeldata_bra_kommunindikatorer_21.csv").read_bytes()
    )


def test_every_file_is_marked_synthetic(tables):
    assert all(p["synthetic"] for p in tables["prov"])
    assert {p["format"] for p in tables["prov"]} == {"bra_long", "scb_pxweb_v1", "kolada_groups", "kolada_v3"}


def test_coverage(tables):
    reg = registry()
    all_codes = {a.code for a in reg.areas()}
    assert len(all_codes) == 290 + 21 + 1
    crime, survey, pop = tables["crime"], tables["survey"], tables["population"]
    assert set(crime["area_code"]) == all_codes
    assert set(pop["area_code"]) == all_codes
    assert set(survey["area_code"]) == all_codes
    # as real data arrive: crime to 2024, NTU a year ahead, victimisation labelled by reference year
    assert sorted(crime["year"].unique()) == list(range(2016, 2025))
    exposed = survey["indicator"].str.startswith("utsatt_")
    assert sorted(survey.loc[~exposed, "year"].unique()) == list(range(2017, 2026))
    assert sorted(survey.loc[exposed, "year"].unique()) == list(range(2016, 2025))
    assert sorted(pop["year"].unique()) == list(range(2016, 2026))
    crime_u = crime.drop_duplicates(["area_code", "year", "indicator"])
    assert len(crime_u) == 312 * 9 * 15  # complete
    assert len(pop) == 312 * 10
    assert set(crime["status"]) == {"final"}
    # riket appears in every län file, identically
    riket = crime[crime["area_code"] == RIKET_CODE]
    assert riket["file"].nunique() == 21
    assert len(riket.drop_duplicates(["year", "indicator", "count", "rate_per_100k"])) == 9 * 15


def test_lan_and_riket_are_sums(tables):
    keys = ["area_code", "year", "indicator"]
    crime = tables["crime"].drop_duplicates(keys)
    pop = tables["population"]
    kommun = crime[crime["area_code"].str.len() == 4]
    for level, group in (("lan", kommun["area_code"].str[:2]), ("riket", pd.Series(RIKET_CODE, index=kommun.index))):
        sums = kommun.assign(area_code=group).groupby(keys, as_index=False)["count"].sum()
        published = crime.merge(sums, on=keys, suffixes=("", "_sum"))
        assert len(published) == (21 if level == "lan" else 1) * 9 * 15
        assert (published["count"] == published["count_sum"]).all(), level
    # population sums too
    kp = pop[pop["area_code"].str.len() == 4]
    lan_pop = (
        kp.assign(area_code=kp["area_code"].str[:2]).groupby(["area_code", "year"], as_index=False)["population"].sum()
    )
    check = pop.merge(lan_pop, on=["area_code", "year"], suffixes=("", "_sum"))
    assert len(check) == 21 * 10 and (check["population"] == check["population_sum"]).all()
    riket = pop[pop["area_code"] == RIKET_CODE].set_index("year")["population"]
    assert (riket == kp.groupby("year")["population"].sum()).all()
    # every published rate is round(count / population * 100 000), for kommun, län and riket alike
    both = crime.merge(pop, on=["area_code", "year"])
    assert len(both) == len(crime)
    rate = both["count"].astype(float) / both["population"].astype(float) * 100_000
    assert (np.floor(rate + 0.5) == both["rate_per_100k"].astype(float)).all()
    # NTU: respondents and shares aggregate (n summed, shares n-weighted)
    survey = tables["survey"].drop_duplicates(keys)
    n = survey[survey["indicator"] == "otrygghet_kvall"].set_index(["area_code", "year"])["n_respondents"]
    k21 = [a for a, y in n.index if len(a) == 4 and a[:2] == "21" and y == 2023]
    assert n[("21", 2023)] >= sum(n[(a, 2023)] for a in k21)
    assert n[(RIKET_CODE, 2023)] > n[("21", 2023)] * 10


def test_real_populations(tables):
    """Every kommun has its real size: SCB's population of 1 November 2024 (PROVENANCE §9: Ockelbo 5 740,
    Hofors 9 330, Gävle 103 741; 10 587 140 in all), with modest change in the other years."""
    pop = tables["population"]
    k2024 = pop[(pop["year"] == 2024) & (pop["area_code"].str.len() == 4)].set_index("area_code")["population"]
    assert len(k2024) == 290 and int(k2024.sum()) == 10_587_140
    assert (k2024["2101"], k2024["2104"], k2024["2180"], k2024["2184"]) == (5_740, 9_330, 103_741, 37_570)
    assert list(k2024.sort_values(ascending=False).index[:3]) == ["0180", "1480", "1280"]
    assert int(pop[(pop["year"] == 2024) & (pop["area_code"] == RIKET_CODE)]["population"].iloc[0]) == 10_587_140
    g = pop[pop["area_code"] == "2180"].sort_values("year")["population"].to_numpy()
    assert (np.abs(np.diff(g) / g[:-1]) < 0.03).all()  # modest yearly change


@pytest.mark.realdata
def test_populations_are_scbs(tables):
    from conftest import REAL_DIR

    path = REAL_DIR / "scb_folkmangd_nov_2024" / "population.csv"
    if not path.is_file():
        pytest.skip(f"real data not available ({path})")
    real = pd.read_csv(path, dtype={"kommun_kod": str})
    pop = tables["population"]
    ours = pop[(pop["year"] == 2024) & (pop["area_code"].str.len() == 4)].set_index("area_code")["population"]
    assert (
        ours.sort_index().astype(int).to_numpy() == real.set_index("kommun_kod")["population"].sort_index().to_numpy()
    ).all()


def test_victimisation_is_measured_in_the_next_survey(sample_dir):
    """In the files a victimisation share of reference year Y sits beside NTU Y+1's respondent count, and
    the reader gives it that count."""
    t = read_source(sample_dir / "exempeldata_bra_kommunindikatorer_21.csv")
    s = t.survey
    n = s[s["indicator"] == "otrygghet_kvall"].set_index(["area_code", "year"])["n_respondents"]
    m = s[s["indicator"] == "utsatt_misshandel"]
    assert (m["year"].max(), s[s["indicator"] == "otrygghet_kvall"]["year"].max()) == (2024, 2025)
    for r in m.itertuples():
        if (r.area_code, r.year + 1) in n.index:
            assert r.n_respondents == n[(r.area_code, r.year + 1)]
    assert m["n_respondents"].notna().all()


def test_plausible_crime_and_ntu(tables):
    crime = tables["crime"].drop_duplicates(["area_code", "year", "indicator"])
    riket = crime[crime["area_code"] == RIKET_CODE].set_index(["indicator", "year"])["rate_per_100k"]
    assert 12_000 <= riket[("totalt", 2023)] <= 16_000  # real 'Hela landet' 2023: 14 349
    assert 2_500 <= riket[("stold_totalt", 2023)] <= 4_500
    assert 5 <= riket[("ran_unga", 2023)] <= 30
    k = crime[(crime["area_code"].str.len() == 4) & (crime["indicator"] == "totalt") & (crime["year"] == 2023)]
    ratio = k["rate_per_100k"].astype(float) / riket[("totalt", 2023)]
    assert 0.3 < ratio.min() and ratio.max() < 3.5 and 0.1 < np.log(ratio).std() < 0.6
    survey = tables["survey"].drop_duplicates(["area_code", "year", "indicator"])
    ks = survey[survey["area_code"].str.len() == 4]
    assert ks["n_respondents"].between(40, 1_500).all()
    assert ks["n_respondents"].median() > 250
    assert (ks["ci_low_pct"] <= ks["share_pct"]).all() and (ks["share_pct"] <= ks["ci_high_pct"]).all()
    rs = survey[survey["area_code"] == RIKET_CODE].set_index(["indicator", "year"])
    assert 20 <= rs.loc[("otrygghet_kvall", 2023), "share_pct"] <= 32
    assert rs.loc[("problem_gang", 2023), "share_pct"] < 10
    # riket intervals are much narrower than a kommun's
    width_riket = (rs["ci_high_pct"] - rs["ci_low_pct"]).median()
    width_kommun = (ks["ci_high_pct"] - ks["ci_low_pct"]).median()
    assert width_riket < width_kommun / 5


def test_published_like_bra(sample_dir):
    """Kommun shares: one decimal for utsatthet, whole per cent otherwise, with their Wilson interval;
    NTU rows are left out where fewer than 100 answered."""
    with open(sample_dir / "exempeldata_bra_kommunindikatorer_21.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["geografi", "enhet", "ar", "variabel", "varde", "kalla"]
    df = pd.DataFrame(rows[1:], columns=rows[0])
    assert set(df["kalla"]) == {"Anmälda brott", "Nationella trygghetsundersökningen (NTU)"}
    assert set(df.loc[df["kalla"] == "Anmälda brott", "enhet"]) == {"Antal", "Antal per 100 000 inv"}
    assert set(df["geografi"]) == {a.name for a in registry().kommuner("21")} | {"Gävleborgs län", "Hela landet"}
    gavle = df[df["geografi"] == "Gävle"]
    n = gavle[gavle["variabel"] == "Antal svarande i NTU."].set_index("ar")["varde"].astype(float)
    assert gavle[gavle["variabel"] == "Antal svarande i NTU."]["enhet"].eq("").all()
    share = gavle[gavle["enhet"].str.startswith("Andel")]
    uts = share[share["variabel"].str.startswith("Självrapporterad")]["varde"].astype(float)
    other = share[~share["variabel"].str.startswith("Självrapporterad")]["varde"].astype(float)
    assert (other == other.round(0)).all() and (uts == uts.round(1)).all() and not (uts == uts.round(0)).all()
    # the interval is Wilson's around the unrounded share
    o = (
        gavle[(gavle["variabel"].str.startswith("Otrygghet")) & (gavle["ar"] == "2023")]
        .set_index("enhet")["varde"]
        .astype(float)
    )
    x = o.iloc[0] / 100 * n["2023"]
    low, high = proportion_confint(x, n["2023"], method="wilson")
    assert abs(o["KI (95 %) undre gräns"] - low * 100) <= 1.0 and abs(o["KI (95 %) övre gräns"] - high * 100) <= 1.0


def test_small_kommuner_omit_ntu_below_100(tables):
    survey = tables["survey"].drop_duplicates(["area_code", "year", "indicator"])
    k = survey[survey["area_code"].str.len() == 4]
    assert k["n_respondents"].min() >= 100  # no share is published from fewer than 100 answers
    per_area_year = k.groupby(["area_code", "year"]).size()
    assert len(per_area_year) < 290 * 10  # a few small kommun-years have no NTU shares


@pytest.mark.realdata
def test_same_strings_as_the_real_file(sample_dir, real_bra_dalarna):
    real = pd.read_csv(real_bra_dalarna, dtype=str, keep_default_na=False)
    ours = pd.read_csv(sample_dir / "exempeldata_bra_kommunindikatorer_20.csv", dtype=str, keep_default_na=False)
    assert list(ours.columns) == list(real.columns)
    for col in ("enhet", "variabel", "kalla"):
        assert set(ours[col]) == set(real[col]), col
    assert set(ours["geografi"]) == set(real["geografi"])  # Dalarna: the same 15 kommuner, län and riket


def test_kolada_groups(tables, sample_dir):
    """Nine SKR 2023 groups over all 290 kommuner (real sizes), plausible by population, and seven
    'Liknande kommuner' peers per kommun; in Kolada's /v3/municipality_groups shape."""
    obj = json.loads((sample_dir / KOLADA_FILE).read_text("utf-8"))
    assert set(obj) >= {"values"} and obj["next_url"] is None
    g = tables["groups"]
    skr = g[g["group_kind"] == "skr_kommungrupp"]
    assert len(skr) == 290 and skr["area_code"].nunique() == 290  # every kommun in exactly one group
    from tmb_analysis.sources import skr_group_code

    code = skr.assign(code=skr["group_title"].map(skr_group_code))
    sizes = code.groupby("code").size().to_dict()
    assert sizes == {"A1": 3, "A2": 43, "B3": 23, "B4": 63, "B5": 24, "C6": 27, "C7": 51, "C8": 35, "C9": 21}
    assert set(code.loc[code["code"] == "A1", "area_code"]) == {"0180", "1480", "1280"}
    pop = tables["population"]
    p23 = pop[pop["year"] == 2023].set_index("area_code")["population"]
    median = code.assign(pop=code["area_code"].map(p23)).groupby("code")["pop"].median()
    assert median["A1"] > median["B3"] > median["C6"] > median["C7"] > median["C8"]  # larger groups are larger towns
    peers = g[g["group_kind"] == "liknande_kommuner"]
    assert peers["subject_code"].nunique() == 290
    assert (peers.groupby("subject_code").size() == 7).all()
    assert not (peers["subject_code"] == peers["area_code"]).any()  # a kommun is not its own peer
    titles = set(peers["group_title"])
    assert "Liknande kommuner, övergripande, Gävle, 2023" in titles
    # peers are similar in size: within a factor of 3 for most
    ratio = peers.assign(a=peers["area_code"].map(p23), s=peers["subject_code"].map(p23))
    assert ((ratio["a"] / ratio["s"]).between(1 / 3, 3)).mean() > 0.9
