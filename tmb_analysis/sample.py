"""The synthetic example dataset ("Exempeldata – inte verklig statistik"), in the real file formats.

:func:`write_sample` writes, deterministically (byte-identical on every run with the same seed):

* ``exempeldata_bra_kommunindikatorer_<län>.csv`` (21 files): BRÅ's lägesbild indicators in the
  long form of the real Dalarna extract (UTF-8, ``,``, columns ``geografi, enhet, ar, variabel,
  varde, kalla``, the same ``enhet``/``variabel``/``kalla`` strings), one file per län holding the
  län's kommuner, the län and ``Hela landet`` (län and riket rows once per file, as in the real file);
* ``exempeldata_scb_folkmangd.json``: SCB PxWeb API v1 JSON with the population of riket, the 21 län
  and the 290 kommuner, 2016–2025;
* ``exempeldata_kolada_kommungrupper.json``: Kolada's ``/v3/municipality_groups`` shape with SKR's nine
  kommungrupper of 2023 (A1 Storstäder … C9, with the real group sizes 3, 43, 23, 63, 24, 27, 51, 35, 21,
  every kommun in exactly one) and one "Liknande kommuner, övergripande, <Kommun>, 2023" group of seven
  peers per kommun (see :func:`kommungrupper`);
* ``exempeldata_kolada_kontext.json``: invented values of the context KPIs ("Annan relevant information")
  in Kolada's v3 data shape, for every kommun, the regions and riket (:mod:`tmb_analysis.sample_context`);
* ``exempeldata.json``: the manifest (file names, sha256, the note ``Exempeldata – inte verklig
  statistik``); :mod:`tmb_analysis.sources` marks every file it lists as synthetic.

The model, with constants taken from the real ``Hela landet`` rows of BRÅ's indicator set:

* Population: each kommun's **real** population of 1 November 2024 (SCB, CC0; the committed table
  :data:`POPULATION_FILE`), so that Ockelbo has about 5 700 inhabitants and Gävle about 104 000, and
  the small-kommun paths of the reports (stabilised and pooled values) show where they would with real
  data. The other years grow or shrink from it by a few per mille a year, faster in larger kommuner.
* Publication rhythm as real data arrive: reported crime 2016–2024, NTU 2017–2025 (a year ahead), and
  self-reported victimisation (``utsatthet``) labelled by reference year 2016–2024, measured in NTU
  2017–2025 (its respondents are those of the next year's survey), as in BRÅ's files.
* Reported crime (all ``final``): a national rate per indicator (as in the real
  ``Hela landet`` rows, e.g. about 14 300 anmälda brott per 100 000 in 2023) with a national trend;
  each kommun has a log-normal level (a shared component, sd 0.18, plus an indicator component,
  sd 0.20), a size effect, its own small trend (sd 2 % a year), extra over-dispersion (sd 5 %), a
  tourism effect in five kommuner and three one-year spikes in small kommuner. Counts are Poisson;
  the rate is published like BRÅ: round(count / population × 100 000). Län and riket counts are
  the sums of their kommuner, their rates recomputed from the summed population.
* NTU: respondents per kommun and year grow with log population from about 250 to 1 000 (with a
  kommun response factor, a slow national decline and noise); in a few small kommun-years a poor
  response pushes n below 100, and then the kommun's NTU shares for that year are **omitted** (the
  long form has no missing marker; the respondent row stays). Shares are binomial around
  indicator-specific national levels (real ``Hela landet`` values, 2017 → 2025), with kommun effects
  on the logit scale linked to the kommun's crime level and size. Published with the 95 % Wilson
  interval: one decimal for the utsatthet indicators, whole per cent for the others; the län and
  riket values are n-weighted (Σx/Σn) with their own, narrower Wilson interval and summed n, at full
  precision like the real file. Indicators run over NTU 2017–2025; four neighbourhood-problem
  indicators start in 2018, as in the real file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from .catalogue import catalogue
from .config import POPULATION_FILE
from .config import SAMPLE_MANIFEST as MANIFEST_NAME
from .config import SAMPLE_NOTE as NOTE
from .geography import RIKET_CODE, registry
from .statistics import wilson_share_ci

BRA_FILE = "exempeldata_bra_kommunindikatorer_{lan}.csv"
SCB_FILE = "exempeldata_scb_folkmangd.json"
KOLADA_FILE = "exempeldata_kolada_kommungrupper.json"

YEARS = tuple(range(2016, 2026))  # population
#: The publication rhythm of real data: reported crime to year Y, NTU to Y+1 (BRÅ publishes NTU 2025 in
#: December, crime 2025 the following March); self-reported victimisation is labelled by reference year.
CRIME_YEARS = tuple(range(2016, 2025))
NTU_YEARS = tuple(range(2017, 2026))
NTU_LATE_START = {
    "problem_fortkorning": 2018,
    "problem_storande_korning": 2018,
    "problem_paverkade": 2018,
    "problem_gang": 2018,
}
NTU_MIN_RESPONDENTS = 100

KALLA_CRIME = "Anmälda brott"
KALLA_NTU = "Nationella trygghetsundersökningen (NTU)"
UNIT_COUNT = "Antal"
UNIT_RATE = "Antal per 100 000 inv"
CI_LOW = "KI (95 %) undre gräns"
CI_HIGH = "KI (95 %) övre gräns"
RESPONDENTS = "Antal svarande i NTU."
RIKET_NAME = "Hela landet"

METROS = ("0180", "1480", "1280")  # Stockholm, Göteborg, Malmö
TOURISM = ("2321", "2023", "0885", "2361", "1486")  # Åre, Malung-Sälen, Borgholm, Härjedalen, Strömstad
#: Each kommun's real population (SCB, 1 November 2024, CC0): the example data's only real numbers.
BASE_YEAR = 2024  # the year of POPULATION_FILE


def real_populations() -> dict[str, int]:
    """Kommun code -> population on 1 November 2024 (SCB), from :data:`POPULATION_FILE`."""
    out = {}
    for line in POPULATION_FILE.read_text("utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("kod;"):
            continue
        code, pop = line.split(";")
        out[code] = int(pop)
    return out


#: id -> (national rate per 100 000 in 2023, national log-trend per year, log size slope per decade).
#: Rates from BRÅ's real "Hela landet" rows (2023: totalt 14 349, skadegörelse 2 076, narkotika
#: 1 066, stöld 3 562, …).
CRIME_MODEL: dict[str, tuple[float, float, float]] = {
    "totalt": (14_300, -0.005, 0.12),
    "skadegorelse": (2_050, -0.010, 0.10),
    "narkotika": (1_100, 0.020, 0.20),
    "vald_offentlig_vuxna": (240, -0.035, 0.15),
    "vald_nara_kvinnor": (385, 0.010, 0.0),
    "vald_nara_man": (97, 0.020, 0.0),
    "vald_inomhus_unga_flickor": (74, 0.010, 0.05),
    "vald_inomhus_unga_pojkar": (96, 0.0, 0.05),
    "vald_offentlig_unga_flickor": (23, 0.0, 0.05),
    "vald_offentlig_unga_pojkar": (55, 0.0, 0.05),
    "ran_unga": (15, -0.060, 0.35),
    "stold_totalt": (3_600, -0.045, 0.15),
    "bilbrott": (500, -0.040, 0.10),
    "bostadsinbrott": (335, -0.030, 0.05),
    "trafikbrott": (650, -0.050, -0.10),
}
TOURISM_INDICATORS = ("totalt", "stold_totalt", "skadegorelse", "bilbrott", "trafikbrott")

#: id -> (national share % in 2017, in 2025, log-odds size slope per decade, link to crime level).
#: Levels from BRÅ's real "Hela landet" NTU rows.
SURVEY_MODEL: dict[str, tuple[float, float, float, float]] = {
    "otrygghet_kvall": (27.7, 25.0, 0.15, 0.5),
    "avstatt_aktivitet": (12.2, 11.8, 0.10, 0.4),
    "valt_annan_vag": (22.9, 22.8, 0.12, 0.4),
    "oro_misshandel": (10.5, 8.7, 0.12, 0.4),
    "oro_sexualbrott": (11.2, 9.5, 0.10, 0.3),
    "oro_bostadsinbrott": (28.1, 19.8, 0.02, 0.4),
    "oro_bilbrott": (26.5, 20.4, 0.05, 0.4),
    "utsatt_misshandel": (3.3, 2.6, 0.10, 0.4),
    "utsatt_sexualbrott": (5.5, 3.8, 0.15, 0.2),
    "utsatt_ran": (1.3, 0.9, 0.20, 0.5),
    "utsatt_kortbedrageri": (5.1, 4.3, 0.05, 0.1),
    "utsatt_forsaljningsbedrageri": (4.8, 6.6, 0.03, 0.1),
    "utsatt_cykelstold": (10.3, 9.2, 0.25, 0.3),
    "problem_skadegorelse": (7.7, 5.7, 0.20, 0.6),
    "problem_klotter": (6.0, 4.8, 0.30, 0.5),
    "problem_narkotikahandel": (4.9, 5.1, 0.30, 0.7),
    "problem_fortkorning": (20.1, 17.0, -0.10, 0.1),
    "problem_storande_korning": (12.3, 12.6, 0.0, 0.3),
    "problem_paverkade": (7.3, 5.5, 0.20, 0.6),
    "problem_gang": (7.3, 5.6, 0.35, 0.7),
}
Z95 = 1.959963984540054


# ---- small helpers ---------------------------------------------------------------


def _logit(p):
    return np.log(p / (1 - p))


def _expit(x):
    return 1 / (1 + np.exp(-x))


def _round_half_up(v, decimals: int):
    f = 10.0**decimals
    return np.floor(np.asarray(v, dtype=float) * f + 0.5) / f


def _num(v: float) -> str:
    """A value as the real long form writes it: '5043.0', '21.0', '0.6', '2.995169'."""
    return repr(float(v))


# ---- the model -------------------------------------------------------------------


def _modelled_ids(kind: str, model: dict, name: str) -> list[str]:
    """The catalogue's indicators of ``kind``, in its order; each must have its parameters in ``model``."""
    ids = [i.id for i in catalogue().of_kind(kind)]
    missing = set(ids) ^ set(model)
    if missing:
        raise RuntimeError(f"sample.{name} and the catalogue differ: {sorted(missing)}")
    return ids


class _Model:
    """All numbers of the example dataset, as arrays over (area, indicator, year)."""

    def __init__(self, seed: int):
        reg = registry()
        self.kommuner = sorted(reg.kommuner(), key=lambda a: a.code)
        self.lan = sorted(reg.all_lan(), key=lambda a: a.code)
        self.k_codes = [a.code for a in self.kommuner]
        self.k_lan = np.array([self.lan.index(reg.area(a.lan_code)) for a in self.kommuner])
        streams = np.random.SeedSequence(seed).spawn(8)
        self.rng = [np.random.default_rng(s) for s in streams]
        self._population()
        self._crime()
        self._survey()

    # population ------------------------------------------------------------
    def _population(self) -> None:
        rng = self.rng[0]
        nk = len(self.kommuner)
        real = real_populations()
        missing = set(self.k_codes) ^ set(real)
        if missing:
            raise RuntimeError(f"{POPULATION_FILE.name} and the geography registry differ: {sorted(missing)}")
        pop_base = np.array([real[c] for c in self.k_codes], dtype=float)
        # growth of a few per mille a year, faster in larger kommuner (only the other years are modelled)
        growth = 0.004 + 0.004 * np.log10(pop_base / 16_000) + rng.normal(0, 0.004, nk)
        years = np.array(YEARS)
        pop = np.rint(pop_base[:, None] * np.exp(growth[:, None] * (years[None, :] - BASE_YEAR)))
        self.years = years
        self.pop_k = pop.astype(np.int64)  # (kommun, year)
        self.size_k = np.log10(pop_base / 30_000)

    def _aggregate(self, arr_k: np.ndarray) -> np.ndarray:
        """Stack kommun rows, län sums and the riket sum along axis 0 (kommuner, län, riket)."""
        lan = np.stack([arr_k[self.k_lan == j].sum(axis=0) for j in range(len(self.lan))])
        riket = arr_k.sum(axis=0, keepdims=True)
        return np.concatenate([arr_k, lan, riket], axis=0)

    # crime ---------------------------------------------------------------------
    def _crime(self) -> None:
        rng = self.rng[1]
        ids = _modelled_ids("crime", CRIME_MODEL, "CRIME_MODEL")
        cyears = np.array(CRIME_YEARS)
        nk, ni, nt = len(self.kommuner), len(ids), len(cyears)
        base = np.array([CRIME_MODEL[i][0] for i in ids])
        trend = np.array([CRIME_MODEL[i][1] for i in ids])
        slope = np.array([CRIME_MODEL[i][2] for i in ids])
        t = cyears - 2023
        national = base[:, None] * np.exp(trend[:, None] * t[None, :])  # (ind, year)
        national = national * np.exp(rng.normal(0, 0.02, (ni, nt)))
        g = rng.normal(0, 0.18, nk)
        h = rng.normal(0, 0.20, (nk, ni))
        tau = rng.normal(0, 0.02, (nk, ni))
        noise = rng.normal(0, 0.05, (nk, ni, nt))
        log_m = g[:, None, None] + h[:, :, None] + slope[None, :, None] * self.size_k[:, None, None]
        log_m = log_m + tau[:, :, None] * (cyears - 2021)[None, None, :] + noise
        tourism = np.array([c in TOURISM for c in self.k_codes])
        touristy = np.array([i in TOURISM_INDICATORS for i in ids])
        log_m = log_m + 0.45 * (tourism[:, None] & touristy[None, :])[:, :, None]
        m = np.exp(log_m)
        pop = self.pop_k[:, None, [list(self.years).index(y) for y in cyears]].astype(float)
        # calibrate: the national rate is the population-weighted mean of the kommun rates
        weighted = (m * pop).sum(axis=0) / pop.sum(axis=0)
        mu = pop * m / weighted[None, :, :] * national[None, :, :] / 100_000
        # three one-year spikes in small kommuner (a single large case)
        small = np.flatnonzero(self.pop_k[:, -1] < 8_000)
        spike_k = rng.choice(small, size=3, replace=False)
        spike_i = rng.choice([ids.index(i) for i in ("narkotika", "skadegorelse", "bilbrott")], size=3)
        spike_t = rng.integers(2, nt, size=3)
        for k, i, y in zip(spike_k, spike_i, spike_t):
            mu[k, i, y] *= 3.0
        counts_k = rng.poisson(mu).astype(np.int64)
        self.crime_ids = ids
        self.crime_years = cyears
        self.counts = self._aggregate(counts_k)  # (area, ind, crime year)
        self.pop = self._aggregate(self.pop_k)  # (area, year)
        crime_pop = self.pop[:, [list(self.years).index(y) for y in cyears]]
        self.rates = _round_half_up(self.counts / crime_pop[:, None, :] * 100_000, 0)
        self.g = g

    # survey --------------------------------------------------------------------
    def _survey(self) -> None:
        rng = self.rng[2]
        ids = _modelled_ids("survey", SURVEY_MODEL, "SURVEY_MODEL")
        years = np.array(NTU_YEARS)
        nk, nj, nt = len(self.kommuner), len(ids), len(years)
        pop = self.pop_k[:, [list(self.years).index(y) for y in years]].astype(float)
        # respondents: 250 -> 1000 with log population, a kommun factor, slow decline, noise
        lo, hi = np.log(2_500), np.log(1_000_000)
        level = 250 + 750 * np.clip((np.log(pop) - lo) / (hi - lo), 0, 1.1)
        kommun_factor = np.exp(rng.normal(0, 0.12, nk))
        decline = 1.08 - 0.02 * (years - 2017)
        noise = np.exp(rng.normal(0, 0.08, (nk, nt)))
        poor = (rng.random((nk, nt)) < 0.08) & (pop < 6_000)  # a poor response year in a small kommun
        n = np.rint(level * kommun_factor[:, None] * decline[None, :] * noise * np.where(poor, 0.3, 1.0))
        n = n.astype(np.int64)
        # shares
        p17 = np.array([SURVEY_MODEL[j][0] for j in ids]) / 100
        p25 = np.array([SURVEY_MODEL[j][1] for j in ids]) / 100
        slope = np.array([SURVEY_MODEL[j][2] for j in ids])
        link = np.array([SURVEY_MODEL[j][3] for j in ids])
        frac = (years - 2017) / (2025 - 2017)
        target = _logit(p17)[:, None] * (1 - frac)[None, :] + _logit(p25)[:, None] * frac[None, :]  # (ind, year)
        target = target + rng.normal(0, 0.03, (nj, nt))
        u = rng.normal(0, 0.20, (nk, nj))
        tau = rng.normal(0, 0.01, (nk, nj))
        eta = (
            u[:, :, None]
            + slope[None, :, None] * self.size_k[:, None, None]
            + link[None, :, None] * self.g[:, None, None]
            + tau[:, :, None] * (years - 2021)[None, None, :]
        )
        shift = np.zeros((nj, nt))
        w = n[:, None, :].astype(float)
        for _ in range(4):  # calibrate the n-weighted national share to the target
            p = _expit(eta + (target + shift)[None, :, :])
            mean = (p * w).sum(axis=0) / w.sum(axis=0)
            shift += target - _logit(mean)
        p = _expit(eta + (target + shift)[None, :, :])
        x = rng.binomial(np.broadcast_to(n[:, None, :], p.shape), p).astype(np.int64)
        self.survey_ids = ids
        self.ntu_years = years
        self.n = self._aggregate(n)  # (area, year)
        self.x = self._aggregate(x)  # (area, ind, year)
        nk_all = self.n.shape[0]
        self.ntu_omitted = np.zeros((nk_all, nt), dtype=bool)
        self.ntu_omitted[:nk] = n < NTU_MIN_RESPONDENTS
        starts = np.array([NTU_LATE_START.get(j, years[0]) for j in ids])
        self.ntu_active = years[None, :] >= starts[:, None]  # (ind, year)
        # published values: kommun rounded like BRÅ (utsatthet one decimal, others whole per cent),
        # län and riket at full precision (rounded to 6 decimals)
        nn = np.broadcast_to(self.n[:, None, :], self.x.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = self.x / nn
        low, high = wilson_share_ci(share * 100, nn)  # in per cent
        vals = np.stack([share * 100, low, high])  # (3, area, ind, year)
        themes = {i.id: i.theme for i in catalogue().of_kind("survey")}
        decimals = np.array([1 if themes[j] == "utsatthet" else 0 for j in ids])
        f = (10.0**decimals)[None, None, :, None]
        published = np.floor(vals * f + 0.5) / f
        published[:, nk:] = np.round(vals[:, nk:], 6)
        self.ntu_published = published


# ---- writers -----------------------------------------------------------------------


def _field(text: str) -> str:
    """A CSV field as the csv module writes it with QUOTE_MINIMAL."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _bra_name(ind) -> str:
    """The spelling of the real long form: the longest of the catalogue's BRÅ names
    ('Våld i nära relationer, mot kvinnor', the long 'Oro för att utsättas för bostadsinbrott enligt NTU. …')."""
    return max(ind.bra_names, key=len)


def _bra_lines(model: _Model, lan_index: int) -> list[str]:
    """The long-form lines of one län file, ordered like the real extract (header first)."""
    cat = catalogue()
    crime_names = {i.id: _field(_bra_name(i)) for i in cat.of_kind("crime")}
    survey = {i.id: i for i in cat.of_kind("survey")}
    nk = len(model.kommuner)
    kommuner = [k for k in range(nk) if model.k_lan[k] == lan_index]
    lan_row, riket_row = nk + lan_index, nk + len(model.lan)
    names = {k: _field(model.kommuner[k].name) for k in kommuner}
    names[lan_row] = _field(model.lan[lan_index].name)
    names[riket_row] = RIKET_NAME
    cyears = [str(y) for y in model.crime_years]
    nyears = [str(y) for y in model.ntu_years]
    k_crime, k_ntu = _field(KALLA_CRIME), _field(KALLA_NTU)
    ci_low, ci_high, resp = _field(CI_LOW), _field(CI_HIGH), _field(RESPONDENTS)
    lines = ["geografi,enhet,ar,variabel,varde,kalla\n"]
    written: set[tuple[int, str]] = set()
    for k in kommuner:
        areas = [k, lan_row, riket_row]
        for i, ind in enumerate(model.crime_ids):
            var = crime_names[ind]
            for a in areas:
                if (a, ind) in written:
                    continue
                written.add((a, ind))
                name = names[a]
                for unit, arr in ((UNIT_COUNT, model.counts), (UNIT_RATE, model.rates)):
                    vals = arr[a, i].tolist()
                    lines += [f"{name},{unit},{y},{var},{_num(v)},{k_crime}\n" for y, v in zip(cyears, vals)]
        for a in areas:
            if (a, "n") in written:
                continue
            written.add((a, "n"))
            lines += [f"{names[a]},,{y},{resp},{_num(v)},{k_ntu}\n" for y, v in zip(nyears, model.n[a].tolist())]
        for j, ind in enumerate(model.survey_ids):
            meta = survey[ind]
            unit, var = _field(meta.bra_unit), _field(_bra_name(meta))
            for a in areas:
                if (a, ind) in written:
                    continue
                written.add((a, ind))
                share, low, high = (model.ntu_published[q, a, j].tolist() for q in range(3))
                for t, ntu_year in enumerate(model.ntu_years):
                    if not model.ntu_active[j, t] or model.ntu_omitted[a, t]:
                        continue
                    y = str(ntu_year - meta.ntu_year_offset)  # victimisation: labelled by reference year
                    lines.append(f"{names[a]},{unit},{y},{var},{_num(share[t])},{k_ntu}\n")
                    lines.append(f"{names[a]},{ci_low},{y},{var},{_num(low[t])},{k_ntu}\n")
                    lines.append(f"{names[a]},{ci_high},{y},{var},{_num(high[t])},{k_ntu}\n")
    return lines


def _csv_bytes(lines: list[str]) -> bytes:
    return "".join(lines).encode("utf-8")


def _scb_bytes(model: _Model) -> bytes:
    nk = len(model.kommuner)
    data = []
    order: list[tuple[str, int]] = [(RIKET_CODE, nk + len(model.lan))]
    for j, lan in enumerate(model.lan):
        order.append((lan.code, nk + j))
        order += [(model.k_codes[k], k) for k in range(nk) if model.k_lan[k] == j]
    for code, a in order:
        for t, y in enumerate(model.years):
            data.append({"key": [code, str(y)], "values": [str(int(model.pop[a, t]))]})
    obj = {
        "columns": [
            {"code": "Region", "text": "region", "type": "d"},
            {"code": "Tid", "text": "år", "type": "t"},
            {"code": "BE0101N1", "text": "Folkmängd", "type": "c", "unit": "antal"},
        ],
        "comments": [],
        "data": data,
        "metadata": [
            {
                "infofile": "BE0101",
                "updated": "2026-01-01T00:00:00",
                "label": f"Folkmängden efter region och år. {NOTE}",
                "source": f"{NOTE} (tmb_analysis.sample, inte SCB)",
            }
        ],
    }
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


#: SKR's kommungruppsindelning 2023: code, Kolada's group title (without "(ovägt medel)"), size, Kolada id.
SKR_2023 = (
    ("A1", "Storstäder", 3, "G92787"),
    ("A2", "Pendlingskommun nära storstad", 43, "G92793"),
    ("B3", "Större stad", 23, "G92790"),
    ("B4", "Pendlingskommun nära större stad", 63, "G92792"),
    ("B5", "Lågpendlingskommun nära större stad", 24, "G92786"),
    ("C6", "Mindre stad/tätort", 27, "G92788"),
    ("C7", "Pendlingskommun nära mindre tätort", 51, "G92789"),
    ("C8", "Landsbygdskommun, ej nära större stad", 35, "G92791"),
    ("C9", "Landsbygdskommun med besöksnäring", 21, "G92794"),
)
METRO_LAN = ("01", "12", "14")
MOUNTAIN_LAN = ("08", "09", "17", "20", "22", "23", "24", "25")
PEERS = 7
PEER_YEAR = 2023


def kommungrupper(model: _Model) -> dict[str, str]:
    """Kommun code -> SKR group code (A1 … C9) for the example data, from its populations.

    A1: the three metros. B3: the 23 largest other kommuner outside Stockholm län. A2: the rest of
    Stockholm län and the largest kommuner of Skåne and Västra Götaland (43). C9: the five tourism
    kommuner of the model and the smallest kommuner of the mountain and island län (21). B4/B5: the
    largest remaining kommuner in a län with a B3 town (63 + 24). C6, C7, C8: the rest by size.
    """
    t = list(model.years).index(PEER_YEAR)
    pop = {c: int(model.pop_k[i, t]) for i, c in enumerate(model.k_codes)}
    lan = {c: c[:2] for c in model.k_codes}
    left = sorted(model.k_codes, key=lambda c: (-pop[c], c))  # largest first, ties by code
    out: dict[str, str] = {}

    def take(code: str, candidates: list[str], n: int) -> None:
        chosen = [c for c in dict.fromkeys(candidates) if c in left][:n]
        if len(chosen) < n:  # the preferred pool ran short: fill up with the largest left
            chosen += [c for c in left if c not in chosen][: n - len(chosen)]
        for c in chosen:
            out[c] = code
            left.remove(c)

    size = {code: n for code, _, n, _ in SKR_2023}
    take("A1", list(METROS), size["A1"])
    take("B3", [c for c in left if lan[c] != "01"], size["B3"])
    take("A2", [c for c in left if lan[c] == "01"] + [c for c in left if lan[c] in METRO_LAN[1:]], size["A2"])
    take("C9", list(TOURISM) + [c for c in reversed(left) if lan[c] in MOUNTAIN_LAN], size["C9"])
    b3_lan = {lan[c] for c, g in out.items() if g == "B3"}
    near = [c for c in left if lan[c] in b3_lan]
    take("B4", near, size["B4"])
    take("B5", [c for c in left if lan[c] in b3_lan], size["B5"])
    take("C6", list(left), size["C6"])
    take("C7", list(left), size["C7"])
    take("C8", list(left), size["C8"])
    assert not left and len(out) == len(model.k_codes)
    return out


def _peers(model: _Model, groups: dict[str, str]) -> dict[str, list[str]]:
    """Seven 'Liknande kommuner' per kommun: the nearest in log population, with a penalty for
    another SKR main group (A/B/C) and a smaller one for another SKR group."""
    t = list(model.years).index(PEER_YEAR)
    codes = model.k_codes
    logpop = np.log(model.pop_k[:, t].astype(float))
    main = np.array([groups[c][0] for c in codes])
    grp = np.array([groups[c] for c in codes])
    out = {}
    for i, c in enumerate(codes):
        d = np.abs(logpop - logpop[i]) + 0.6 * (main != main[i]) + 0.25 * (grp != grp[i])
        d[i] = np.inf
        order = sorted(range(len(codes)), key=lambda j: (d[j], codes[j]))
        out[c] = [codes[j] for j in order[:PEERS]]
    return out


def _kolada_groups_bytes(model: _Model) -> bytes:
    groups = kommungrupper(model)
    names = {a.code: a.name for a in model.kommuner}
    values = []
    for code, title, _, gid in SKR_2023:
        members = sorted(c for c, g in groups.items() if g == code)
        values.append(
            {"id": gid, "title": f"{title} (ovägt medel)", "members": [{"id": c, "title": names[c]} for c in members]}
        )
    for i, (code, peers) in enumerate(_peers(model, groups).items()):
        values.append(
            {
                "id": f"G{90001 + i}",
                "title": f"Liknande kommuner, övergripande, {names[code]}, {PEER_YEAR}",
                "members": [{"id": c, "title": names[c]} for c in peers],
            }
        )
    obj = {"count": len(values), "values": values, "next_url": None}
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def sample_files(seed: int = 2024) -> dict[str, bytes]:
    """The example dataset as {file name: bytes}, manifest last (nothing is written)."""
    model = _Model(seed)
    files: dict[str, bytes] = {}
    for j, lan in enumerate(model.lan):
        files[BRA_FILE.format(lan=lan.code)] = _csv_bytes(_bra_lines(model, j))
    files[SCB_FILE] = _scb_bytes(model)
    files[KOLADA_FILE] = _kolada_groups_bytes(model)
    from .sample_context import CONTEXT_FILE, context_sample_bytes  # issue 16: context indicators

    files[CONTEXT_FILE] = context_sample_bytes(model, kommungrupper(model), seed, int(model.ntu_years[-1]))
    manifest = {
        "note": NOTE,
        "generator": "tmb_analysis.sample.write_sample",
        "seed": seed,
        "description": (
            "Syntetiska data i de verkliga filformaten (Brå:s indikatorer för kommuners lägesbild i lång form, "
            "SCB:s PxWeb-JSON, Koladas kommungrupper och nyckeltal för annan relevant information). Siffrorna och grupperna är påhittade och får inte användas "
            "som statistik."
        ),
        "files": [
            {
                "name": name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "bytes": len(data),
                "format": {SCB_FILE: "scb_pxweb_v1", KOLADA_FILE: "kolada_groups", CONTEXT_FILE: "kolada_v3"}.get(
                    name, "bra_long"
                ),
            }
            for name, data in files.items()
        ],
    }
    files[MANIFEST_NAME] = (json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    return files


def write_sample(out_dir: str | Path, seed: int = 2024) -> list[Path]:
    """Write the example dataset into ``out_dir`` (created if needed); return the paths written.

    The output is byte-identical on every run with the same ``seed``. Files of this dataset that
    are already there are replaced; other files in ``out_dir`` are left alone.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in sample_files(seed).items():
        path = out / name
        _write(path, data)
        paths.append(path)
    return paths
