"""Schemas for the canonical tables (CONTEXT.md §5) and one clear error when data breaks them.

Every table that enters or leaves the store passes :func:`validate`. A failure raises
:class:`DataValidationError` (a ``ValueError``) whose *first line* says everything a user
needs: the origin (file name), the failing column, an example offending row and what was
expected. The command line prints only that first line; further lines list more cases.

Canonical dtypes (what readers produce and ``store.load_store`` returns):

=========== ============================================================================
crime       area_code str, year int64, indicator str, count Int64, rate_per_100k Float64,
            status str (``final`` | ``preliminary``), source str
survey      area_code str, year int64, indicator str, share_pct / ci_low_pct / ci_high_pct
            Float64 (0–100), n_respondents Int64, period str (optional: ``2017–2018`` for a
            pooled two-year NTU estimate, whose ``year`` is the period's last year; missing for
            a single year), source str
population  area_code str, year int64, population Int64 (> 0), source str
groups      group_id str, group_title str, group_kind str (``skr_kommungrupp`` |
            ``liknande_kommuner`` | ``other``), area_code str (a member), subject_code str
            (the kommun whose peers a "Liknande kommuner …" group lists; else missing), source str
context     area_code str, year int64, indicator str (a context id of
            ``config/context_indicators.yaml``), value Float64 (as Kolada publishes it: per cent
            0–100, or per 1 000), count Int64 (the numerator from the indicator's ``count_kpi``;
            Kolada's own ``count`` field is not one), denominator Int64 (> 0: the population the
            value is of, from ``denominator_kpi``), gender str (``T``), status str (``final`` |
            ``preliminary``), source str. Where count and denominator both exist the value agrees
            with count / denominator × scale (:func:`tmb_analysis.kolada_context.agrees`).
=========== ============================================================================

Every table also has the optional column ``source_sha256`` (str, may be missing): the sha256 of
the file each row was read from, the key of its provenance record in the store's ``sources.json``
(file name, publisher, vintage, download date, preliminary/final). Frames without it (older
stores, hand-built frames) get it filled with missing values by :func:`to_canonical`.
"""

from __future__ import annotations

import re
from functools import cache

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from .catalogue import catalogue
from .geography import registry

YEAR_MIN, YEAR_MAX = 1990, 2100
STATUSES = ("final", "preliminary")
GROUP_KINDS = ("skr_kommungrupp", "liknande_kommuner", "other")
#: Optional columns: filled with missing values when absent; never reported as missing.
OPTIONAL_COLUMNS = ("source_sha256", "period")
#: A pooled two-year NTU period as the store writes it (en dash): '2017–2018'.
PERIOD_RE = re.compile(r"^((?:19|20)\d\d)\u2013((?:19|20)\d\d)$")

#: Column -> canonical dtype, per table, in canonical column order.
DTYPES: dict[str, dict[str, str]] = {
    "crime": {
        "area_code": "str",
        "year": "int64",
        "indicator": "str",
        "count": "Int64",
        "rate_per_100k": "Float64",
        "status": "str",
        "source": "str",
        "source_sha256": "str",
    },
    "survey": {
        "area_code": "str",
        "year": "int64",
        "indicator": "str",
        "share_pct": "Float64",
        "ci_low_pct": "Float64",
        "ci_high_pct": "Float64",
        "n_respondents": "Int64",
        "period": "str",
        "source": "str",
        "source_sha256": "str",
    },
    "population": {
        "area_code": "str",
        "year": "int64",
        "population": "Int64",
        "source": "str",
        "source_sha256": "str",
    },
    "groups": {
        "group_id": "str",
        "group_title": "str",
        "group_kind": "str",
        "area_code": "str",
        "subject_code": "str",
        "source": "str",
        "source_sha256": "str",
    },
    "context": {
        "area_code": "str",
        "year": "int64",
        "indicator": "str",
        "value": "Float64",
        "count": "Int64",
        "denominator": "Int64",
        "gender": "str",
        "status": "str",
        "source": "str",
        "source_sha256": "str",
    },
}
TABLES = tuple(DTYPES)
COLUMNS: dict[str, list[str]] = {name: list(cols) for name, cols in DTYPES.items()}
KEYS: dict[str, list[str]] = {
    "crime": ["area_code", "year", "indicator"],
    "survey": ["area_code", "year", "indicator"],
    "population": ["area_code", "year"],
    "groups": ["group_id", "area_code"],
    "context": ["area_code", "year", "indicator"],
}
#: The tables that hold statistics (one row per area and year).
STAT_TABLES = ("crime", "survey", "population")


class DataValidationError(ValueError):
    """Data that breaks the data contract. The message names the origin, the field and an example."""

    def __init__(self, message: str, origin: str | None = None, problems: list[str] | None = None):
        super().__init__(message)
        self.origin = origin
        self.problems = problems or [message.splitlines()[0]]


def required_columns(name: str) -> list[str]:
    """The columns a table must have (the optional ones, such as ``source_sha256``, left out)."""
    _check_name(name)
    return [c for c in COLUMNS[name] if c not in OPTIONAL_COLUMNS]


def empty_table(name: str) -> pd.DataFrame:
    """An empty canonical table with the right columns and dtypes."""
    _check_name(name)
    return pd.DataFrame({col: pd.Series([], dtype=dtype) for col, dtype in DTYPES[name].items()})


def to_canonical(name: str, df: pd.DataFrame, origin: str = "data") -> pd.DataFrame:
    """The canonical columns of ``df`` in canonical order and dtypes (extra columns kept at the end).

    Conversion is strict: a value that cannot be represented (``'abc'`` as a count, ``2.5`` as a
    count, an empty year) raises :class:`DataValidationError` naming ``origin`` instead of being
    rounded or dropped. Missing columns are left for :func:`validate` to report.
    """
    _check_name(name)
    out = df.copy()
    for col in OPTIONAL_COLUMNS:
        if col in DTYPES[name] and col not in out.columns:
            out[col] = pd.Series([None] * len(out), index=out.index, dtype="object")
    for col, dtype in DTYPES[name].items():
        if col not in out.columns:
            continue
        s = out[col]
        if str(s.dtype) == dtype:
            continue
        if dtype == "str":
            conv = s.astype("str")
            out[col] = conv.where(s.notna()) if s.hasnans else conv  # missing stays missing, never 'nan'
            continue
        num = pd.to_numeric(s, errors="coerce")
        bad = s.notna() & num.isna()
        if dtype != "Float64":
            bad |= num.notna() & (num.astype("float64") % 1 != 0)
            if dtype == "int64":
                bad |= num.isna()
        if bad.any():
            i = bad.to_numpy().nonzero()[0][0]
            kind = "whole numbers" if dtype != "Float64" else "numbers"
            raise DataValidationError(
                f"{origin}: invalid {name} data: column {col!r} must hold {kind}; "
                f"{int(bad.sum())} value(s) do not, e.g. {s.iloc[i]!r} in row {i}",
                origin=origin,
            )
        out[col] = num.astype(dtype if dtype != "int64" else "Int64").astype(dtype)
    ordered = [c for c in DTYPES[name] if c in out.columns] + [c for c in out.columns if c not in DTYPES[name]]
    return out[ordered].reset_index(drop=True)


# ---- schemas ---------------------------------------------------------------------


def _check_name(name: str) -> None:
    if name not in DTYPES:
        raise ValueError(f"unknown table {name!r}; the canonical tables are {', '.join(TABLES)}")


def _area_check() -> pa.Check:
    codes = sorted(a.code for a in registry().areas())
    return pa.Check.isin(codes, error="a known SCB area code ('00', a two-digit län or a four-digit kommun code)")


def _common(kind: str | None) -> dict[str, pa.Column]:
    cols = {
        "area_code": pa.Column(str, _area_check(), nullable=False),
        "year": pa.Column(
            "int64",
            pa.Check.in_range(YEAR_MIN, YEAR_MAX, error=f"a year between {YEAR_MIN} and {YEAR_MAX}"),
            nullable=False,
        ),
    }
    if kind is not None:
        ids = [i.id for i in catalogue().of_kind(kind)]
        cols["indicator"] = pa.Column(
            str,
            pa.Check.isin(ids, error=f"a {kind} indicator id of the catalogue ({', '.join(ids[:4])}, …)"),
            nullable=False,
        )
    return cols


def _source() -> pa.Column:
    return pa.Column(str, pa.Check.str_length(min_value=1, error="a non-empty source text"), nullable=False)


def _source_sha() -> pa.Column:
    return pa.Column(
        str,
        pa.Check.str_matches(r"^[0-9a-f]{64}$", error="a sha256 in hex (64 characters) or missing"),
        nullable=True,
        required=False,
    )


def _pct(col: str) -> pa.Column:
    return pa.Column("Float64", pa.Check.in_range(0, 100, error="a share between 0 and 100 (per cent)"), nullable=True)


def _period_ok(df: pd.DataFrame) -> pd.Series:
    """A pooled period is two consecutive years ending at the row's year ('2017–2018' for 2018)."""
    if "period" not in df.columns:
        return pd.Series(True, index=df.index)
    period = df["period"]
    ok = pd.Series(True, index=df.index)
    has = period.notna()
    if has.any():
        parts = period[has].astype(str).str.extract(PERIOD_RE.pattern)
        first, last = pd.to_numeric(parts[0], errors="coerce"), pd.to_numeric(parts[1], errors="coerce")
        ok[has] = (first.notna() & (last == df.loc[has, "year"]) & (first == last - 1)).to_numpy()
    return ok.astype(bool)


def _ci_order(df: pd.DataFrame) -> pd.Series:
    low, share, high = (df[c].astype("Float64") for c in ("ci_low_pct", "share_pct", "ci_high_pct"))
    ok_low = (low <= share + 1e-9).fillna(True)
    ok_high = (share <= high + 1e-9).fillna(True)
    ok_pair = (low <= high + 1e-9).fillna(True)
    return (ok_low & ok_high & ok_pair).astype(bool)


@cache
def schema(name: str) -> pa.DataFrameSchema:
    """The pandera schema of a canonical table (pandas backend)."""
    _check_name(name)
    if name == "crime":
        cols = {
            **_common("crime"),
            "count": pa.Column("Int64", pa.Check.ge(0, error="a count of 0 or more"), nullable=True),
            "rate_per_100k": pa.Column("Float64", pa.Check.ge(0, error="a rate of 0 or more"), nullable=True),
            "status": pa.Column(str, pa.Check.isin(list(STATUSES), error="'final' or 'preliminary'"), nullable=False),
            "source": _source(),
            "source_sha256": _source_sha(),
        }
        checks = []
    elif name == "survey":
        cols = {
            **_common("survey"),
            "share_pct": _pct("share_pct"),
            "ci_low_pct": _pct("ci_low_pct"),
            "ci_high_pct": _pct("ci_high_pct"),
            "n_respondents": pa.Column("Int64", pa.Check.ge(0, error="a respondent count of 0 or more"), nullable=True),
            "period": pa.Column(str, nullable=True, required=False),
            "source": _source(),
            "source_sha256": _source_sha(),
        }
        checks = [
            pa.Check(_ci_order, name="ci_order", error="ci_low_pct <= share_pct <= ci_high_pct"),
            pa.Check(
                _period_ok, name="period", error="a two-year period 'YYYY–YYYY' ending at the row's year, or missing"
            ),
        ]
    elif name == "population":
        cols = {
            **_common(None),
            "population": pa.Column("Int64", pa.Check.gt(0, error="a population above 0"), nullable=False),
            "source": _source(),
            "source_sha256": _source_sha(),
        }
        checks = []
    elif name == "context":
        from .kolada_context import context_checks

        ids = _context_ids()
        cols = {
            **_common(None),
            "indicator": pa.Column(
                str, pa.Check.isin(ids, error=f"a context indicator id ({', '.join(ids[:3])}, …)"), nullable=False
            ),
            "value": pa.Column("Float64", pa.Check.ge(0, error="a value of 0 or more"), nullable=False),
            "count": pa.Column("Int64", pa.Check.ge(0, error="a count of 0 or more"), nullable=True),
            "denominator": pa.Column("Int64", pa.Check.gt(0, error="a denominator above 0"), nullable=True),
            "gender": pa.Column(str, pa.Check.isin(["T"], error="'T' (the store holds totals)"), nullable=False),
            "status": pa.Column(str, pa.Check.isin(list(STATUSES), error="'final' or 'preliminary'"), nullable=False),
            "source": _source(),
            "source_sha256": _source_sha(),
        }
        checks = [pa.Check(fn, name=check_name, error=text) for check_name, fn, text in context_checks()]
    else:
        kommuner = sorted(a.code for a in registry().kommuner())
        cols = {
            "group_id": pa.Column(str, pa.Check.str_length(min_value=1, error="a non-empty group id"), nullable=False),
            "group_title": pa.Column(str, nullable=False),
            "group_kind": pa.Column(
                str, pa.Check.isin(list(GROUP_KINDS), error=f"one of {', '.join(GROUP_KINDS)}"), nullable=False
            ),
            "area_code": _common(None)["area_code"],
            "subject_code": pa.Column(
                str, pa.Check.isin(kommuner, error="a four-digit kommun code or missing"), nullable=True
            ),
            "source": _source(),
            "source_sha256": _source_sha(),
        }
        checks = []
    return pa.DataFrameSchema(cols, checks=checks, unique=KEYS[name], name=name, strict=False, coerce=False)


# ---- validation with one readable message -------------------------------------------

_MAX_EXAMPLES = 3


def _row_text(df: pd.DataFrame, idx, focus: str | None, name: str) -> str:
    try:
        row = df.loc[idx]
    except (KeyError, TypeError):
        return f"row {idx}"
    if isinstance(row, pd.DataFrame):
        row = row.iloc[0]
    cols = [c for c in KEYS[name] if c in row.index]
    if focus and focus in row.index and focus not in cols:
        cols.append(focus)
    if focus is None and name == "survey":
        cols += [c for c in ("ci_low_pct", "share_pct", "ci_high_pct", "period") if c in row.index]
    if focus is None and name == "context":
        cols += [c for c in ("value", "count", "denominator") if c in row.index]
    parts = []
    for c in cols:
        v = row[c]
        parts.append(f"{c}={'<saknas>' if pd.isna(v) else v}")
    return ", ".join(parts)


def _summarise(name: str, origin: str, err: SchemaErrors | SchemaError, df: pd.DataFrame) -> DataValidationError:
    fc = getattr(err, "failure_cases", None)
    if not isinstance(fc, pd.DataFrame) or fc.empty:
        return DataValidationError(f"{origin}: invalid {name} data: {err}", origin=origin)
    order = {c: i for i, c in enumerate(COLUMNS[name])}
    groups: dict[tuple, dict] = {}
    for rec in fc.to_dict("records"):
        check = str(rec.get("check"))
        column = rec.get("column")
        column = None if column is None or (isinstance(column, float) and pd.isna(column)) else str(column)
        frame_level = rec.get("schema_context") == "DataFrameSchema"
        if check == "column_in_dataframe":
            key = (0, "missing", None)
        elif check.startswith("dtype("):
            key = (1, check, column)
        elif check == "multiple_fields_uniqueness":
            key = (4, check, None)
        elif frame_level:
            key = (3, check, None)
        else:
            key = (2, check, column)
        g = groups.setdefault(key, {"index": [], "values": []})
        idx = rec.get("index")
        if idx is not None and not (isinstance(idx, float) and pd.isna(idx)) and idx not in g["index"]:
            g["index"].append(idx)
        g["values"].append(rec.get("failure_case"))

    def sort_key(k):
        return (k[0], order.get(k[2], 99) if k[2] else -1, k[1])

    problems: list[str] = []
    for key in sorted(groups, key=sort_key):
        rank, check, column = key
        g = groups[key]
        idx = g["index"]
        if rank == 0:
            missing = ", ".join(sorted(str(v) for v in g["values"]))
            problems.append(f"missing column(s) {missing}; expected columns: {', '.join(required_columns(name))}")
        elif rank == 1:
            problems.append(f"column {column!r} has type {g['values'][0]}, expected {DTYPES[name].get(column, '?')}")
        elif rank == 4:
            ex = "; ".join(_row_text(df, i, None, name) for i in idx[:_MAX_EXAMPLES])
            problems.append(
                f"{len(idx)} rows repeat a key ({', '.join(KEYS[name])}), expected each key once; duplicated: {ex}"
            )
        elif check == "not_nullable":
            ex = "; ".join(_row_text(df, i, column, name) for i in idx[:_MAX_EXAMPLES])
            problems.append(f"column {column!r} is empty in {len(idx)} row(s), expected a value; e.g. {ex}")
        else:
            if idx:
                ex = "; ".join(_row_text(df, i, column, name) for i in idx[:_MAX_EXAMPLES])
                n = len(idx)
            else:
                ex = ", ".join(repr(v) for v in g["values"][:_MAX_EXAMPLES])
                n = len(g["values"])
            where = f"column {column!r}" if column else "rows"
            problems.append(f"{where}: {n} value(s) break the rule, expected {check}; e.g. {ex}")
    head = f"{origin}: invalid {name} data: {problems[0]}"
    more = [f"  also: {p}" for p in problems[1:]]
    return DataValidationError("\n".join([head, *more]), origin=origin, problems=problems)


def validate(table_name: str, df: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Check ``df`` against the canonical schema of ``table_name``; return it unchanged if valid.

    Raises :class:`DataValidationError` naming ``origin`` (a file name), the failing column, example
    offending rows and what was expected. All problems are collected (pandera ``lazy=True``) and
    summarised in one message whose first line is complete on its own.
    """
    _check_name(table_name)
    if not isinstance(df, pd.DataFrame):
        raise DataValidationError(f"{origin}: the {table_name} table is not a DataFrame", origin=origin)
    missing = [c for c in COLUMNS[table_name] if c not in df.columns and c not in OPTIONAL_COLUMNS]
    if missing:
        raise DataValidationError(
            f"{origin}: invalid {table_name} data: missing column(s) {', '.join(missing)}; "
            f"expected columns: {', '.join(required_columns(table_name))}",
            origin=origin,
        )
    if _fast_valid(table_name, df):
        return df
    try:
        return schema(table_name).validate(df, lazy=True)
    except (SchemaErrors, SchemaError) as err:
        raise _summarise(table_name, origin, err, df) from None


_SHA_RE = re.compile(r"[0-9a-f]{64}")


def _context_ids() -> list[str]:
    from .context import context_catalogue

    return context_catalogue().ids


@cache
def _allowed(kind: str) -> frozenset:
    if kind == "context":
        return frozenset(_context_ids())
    if kind == "area":
        return frozenset(a.code for a in registry().areas())
    if kind == "kommun":
        return frozenset(a.code for a in registry().kommuner())
    return frozenset(i.id for i in catalogue().of_kind(kind))


def _fast_valid(name: str, df: pd.DataFrame) -> bool:
    """True when ``df`` certainly passes the schema of ``name`` (vectorised checks of the same rules).

    Only a shortcut for large, valid tables: whenever it is not sure (an unexpected dtype, any rule
    broken) it returns False and the pandera schema decides, and words the error.
    """
    try:
        for col, dtype in DTYPES[name].items():
            if col not in df.columns:
                if col in OPTIONAL_COLUMNS:
                    continue
                return False
            actual = str(df[col].dtype)
            if dtype == "str":
                if actual != "str":
                    return False
            elif actual != dtype:
                return False

        def isin(col, kind, nullable=False):
            values = pd.unique(df[col].to_numpy(dtype=object))
            allowed = _allowed(kind)
            return all((v in allowed) or (nullable and (v is None or v != v)) for v in values)

        def between(col, lo=None, hi=None, nullable=True, strict_lo=False):
            s = df[col]
            if not nullable and s.isna().any():
                return False
            if s.notna().sum() == 0:
                return True
            mn, mx = float(s.min()), float(s.max())
            ok = True
            if lo is not None:
                ok = ok and (mn > lo if strict_lo else mn >= lo)
            if hi is not None:
                ok = ok and mx <= hi
            return ok

        def nonempty(col):
            values = pd.unique(df[col].to_numpy(dtype=object))
            return all(isinstance(v, str) and len(v) >= 1 for v in values)

        if "source_sha256" in df.columns:
            shas = [v for v in pd.unique(df["source_sha256"].to_numpy(dtype=object)) if isinstance(v, str)]
            if any(not _SHA_RE.fullmatch(v) for v in shas):
                return False
        if name == "context":
            from .kolada_context import context_checks

            ok = (
                isin("area_code", "area")
                and between("year", YEAR_MIN, YEAR_MAX, nullable=False)
                and isin("indicator", "context")
                and between("value", 0, nullable=False)
                and between("count", 0)
                and between("denominator", 0, strict_lo=True)
                and bool((df["gender"] == "T").all())
                and bool(df["status"].isin(STATUSES).all())
                and nonempty("source")
                and all(bool(fn(df).all()) for _, fn, _ in context_checks())
            )
        elif name == "groups":
            ok = (
                nonempty("group_id")
                and not df["group_title"].isna().any()
                and isin("area_code", "area")
                and bool(df["group_kind"].isin(GROUP_KINDS).all())
                and isin("subject_code", "kommun", nullable=True)
                and nonempty("source")
            )
        else:
            ok = isin("area_code", "area") and between("year", YEAR_MIN, YEAR_MAX, nullable=False)
            if name == "crime":
                ok = (
                    ok
                    and isin("indicator", "crime")
                    and between("count", 0)
                    and between("rate_per_100k", 0)
                    and bool(df["status"].isin(STATUSES).all())
                    and nonempty("source")
                )
            elif name == "survey":
                ok = (
                    ok
                    and isin("indicator", "survey")
                    and all(between(c, 0, 100) for c in ("share_pct", "ci_low_pct", "ci_high_pct"))
                    and between("n_respondents", 0)
                    and nonempty("source")
                    and bool(_ci_order(df).all())
                    and bool(_period_ok(df).all())
                )
            else:
                ok = ok and between("population", 0, nullable=False, strict_lo=True) and nonempty("source")
        return bool(ok) and not df.duplicated(KEYS[name]).any()
    except Exception:  # noqa: BLE001 - anything unexpected: let pandera decide
        return False
