"""The report pieces for "Annan relevant information" (tmb_analysis.report_context, issue 16): the kommun
section on every kommun page of the example Gävleborg site, 'uppgift saknas' where Kolada has no value,
the credit and 'samband är inte orsak', the county overview, and the sentence under a proposal."""

import re
import shutil

import pandas as pd

from tmb_analysis import report
from tmb_analysis import report_context as rc
from tmb_analysis.context import context_catalogue, related_context
from tmb_analysis.geography import registry

#: Words that make a context factor a cause (docs/metod.md, section 15): never in the context texts.
CAUSAL = ("beror på", "orsakar", "leder till", "förklarar", "på grund av", "driver", "bidrar till", "utsatta områden")


def text_of(html: str) -> str:
    """The visible text, no-break spaces as spaces."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html).replace("\xa0", " "))


def fmt(value, unit):
    return rc.fmt(value, unit).replace("\xa0", " ")


ROW = re.compile(r"<tr><th scope=[\"']row[\"']>.*?</tr>", re.S)


def test_every_kommun_page_of_the_example_site_has_the_section(built_site):
    out, _ = built_site
    for k in registry().kommuner("21"):
        page = (out / f"kommun-{k.code}.html").read_text("utf-8")
        assert "<h2" in page and re.search(r"<h2[^>]*>\s*Annan relevant information", page), k.code
        section = page[page.index("context-table") :]
        section = section[: section.index("</table>")]
        assert len(ROW.findall(section)) == len(context_catalogue()), k.code
        body = text_of(page)
        assert "Källa: Kolada (RKA)" in body and "Samband är inte orsak" in body
        assert "Socialstyrelsen" in body and "Skolinspektionen" in body and "SCB" in body
    lan = (out / "lan-21.html").read_text("utf-8")
    assert lan.count("context-matrix") == 5 and "Annan relevant information: Skola" in lan


def test_section_rows_show_value_benchmarks_and_year(sample_store):
    ctx = report.context("2180", sample_store, 0, kind="kommun")
    html = rc.section(ctx).data
    table = rc.context_results(ctx.store_dir)
    hvb = (
        table[(table["area_code"] == "2180") & (table["indicator"] == "unga_placerade_hvb")]
        .sort_values("year")
        .iloc[-1]
    )
    text = text_of(html)
    assert f"{fmt(hvb['value'], 'per_1000')} 95 % konfidensintervall" in text
    assert fmt(hvb["riket_value"], "per_1000") in text and str(int(hvb["year"])) in text
    assert "beskrivande jämförelse" in text and "ungefärligt intervall" in text
    for word in CAUSAL:
        assert word not in text.lower(), word


def test_a_kommun_without_a_value_reads_uppgift_saknas(sample_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    ctx_table = pd.read_parquet(store / "context.parquet")
    drop = (ctx_table["area_code"] == "2101") & (ctx_table["indicator"] == "langvarigt_ekonomiskt_bistand")
    drop2 = (
        (ctx_table["area_code"] == "2101") & (ctx_table["indicator"] == "trangboddhet") & (ctx_table["year"] == 2024)
    )
    retired = ctx_table["indicator"] == "inflyttade"  # as if Kolada had retired N01719: no rows anywhere
    ctx_table[~(drop | drop2 | retired)].to_parquet(store / "context.parquet", index=False)
    ctx = report.context("2101", store, 0, kind="kommun")
    html = rc.section(ctx).data
    rows = {text_of(r).strip().split(" Andel")[0]: text_of(r) for r in ROW.findall(html)}
    missing = rows["Vuxna med långvarigt ekonomiskt bistånd"]
    assert "uppgift saknas" in missing
    riket = ctx_table[(ctx_table["area_code"] == "00") & (ctx_table["indicator"] == "langvarigt_ekonomiskt_bistand")]
    assert fmt(riket.sort_values("year")["value"].iloc[-1], "percent") in missing
    older = rows["Trångbodda i flerbostadshus"]
    assert "senaste uppgift; uppgift saknas 2024" in older and "2023" in older
    gone = rows["Invånare som flyttat in eller bytt distrikt under året"]
    assert "uppgift saknas" in gone and gone.rstrip().endswith("– – – –")  # no value, benchmark or year
    lan = rc.lan_table(report.context("21", store, 0, kind="lan")).data
    assert "flyttat in" not in lan and "<th scope='col'></th>" not in lan  # no empty column for it
    by_id = {it["indicator"].id: it for it in rc.indicator_rows(ctx)}
    assert by_id["langvarigt_ekonomiskt_bistand"]["row"] is None and by_id["trangboddhet"]["missing"]


def test_a_store_without_context_says_where_it_comes_from(small_store):
    ctx = report.context("2101", small_store, 0, kind="kommun")
    html = rc.section(ctx).data
    assert "Annan relevant information saknas i datalagret" in html and "tmb fetch kolada" in html
    lan = rc.lan_table(report.context("21", small_store, 0, kind="lan")).data
    assert "saknas i datalagret" in lan and "<table" not in lan


def test_related_factors_stand_out_on_the_risk_side_only(sample_store):
    cat = context_catalogue()
    found = 0
    for k in registry().kommuner("21") + registry().kommuner("01"):
        ctx = report.context(k.code, sample_store, 0, kind="kommun")
        rows = {it["indicator"].id: it for it in rc.indicator_rows(ctx)}
        for indicator, links in related_context().items():
            sentence = rc.related_factors_sentence(ctx, indicator)
            expected = []
            for cid in links:
                it = rows[cid]
                r = it["row"]
                if r is None or it["missing"] or r["comparison_kind"] == "descriptive":
                    continue
                if cat.get(cid).risk_direction in (r["cmp_riket"], r["cmp_lan"]):
                    expected.append(cid)
            expected = expected[:3]
            if not expected:
                assert sentence == "", (k.code, indicator)
                continue
            found += 1
            assert sentence.startswith("Relaterade faktorer som sticker ut (samband, inte orsak): ")
            assert sentence.endswith("Källa: Kolada (RKA).")
            for cid in expected:
                assert cat.get(cid).label[1:] in sentence
            for word in CAUSAL:
                assert word not in sentence.lower()
    assert found >= 3  # the example data have a few (Stockholm's län), never contradicting the table
    ctx = report.context("2180", sample_store, 0, kind="kommun")
    assert rc.related_factors_sentence(ctx, "totalt") == ""  # never ranked, no links
