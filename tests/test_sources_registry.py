"""The format registry of tmb_analysis.sources.detect and the Kolada configuration it reads from YAML."""

from __future__ import annotations

import pytest

from tmb_analysis.catalogue import catalogue
from tmb_analysis.sources import FORMATS, KNOWN_UNSUPPORTED, KOLADA_KPIS, SKR_GROUPS, skr_group_code
from tmb_analysis.sources import kolada as kolada_mod
from tmb_analysis.sources.detect import JSON_SNIFFERS, READERS, TEXT_SNIFFERS


def test_every_format_has_a_reader_and_every_sniffed_format_is_known():
    assert list(READERS) == list(FORMATS)
    sniffed = {fmt for fmt, _ in JSON_SNIFFERS + TEXT_SNIFFERS}
    assert sniffed <= set(FORMATS) | set(KNOWN_UNSUPPORTED)
    # the workbooks are told apart by opening them, not by a text sniffer
    assert set(FORMATS) - sniffed == {"bra_xlsx", "bra_table_xlsx"}


def test_kolada_yaml_maps_to_catalogue_indicators():
    ids = set(catalogue().ids)
    assert len(KOLADA_KPIS) == 30
    assert all(ind in ids for ind, _ in KOLADA_KPIS.values())
    assert KOLADA_KPIS["N07540"] == ("totalt", "rate_per_100k")
    assert KOLADA_KPIS["N07657"] == ("otrygghet_kvall", "ci_half_pct")
    assert sorted(set(SKR_GROUPS.values())) == ["A1", "A2", "B3", "B4", "B5", "C6", "C7", "C8", "C9"]
    assert skr_group_code("B3. Större stad (ovägt medel)") == "B3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kpis:\n  N1: {indicator: totalt, field: count}\n", "kpis.N1"),
        ("kpis:\n  N1: totalt\n", "kpis.N1"),
        ('skr_groups:\n  "större stad": B0\n', "skr_groups"),
    ],
)
def test_a_malformed_kolada_yaml_names_the_file_and_the_entry(monkeypatch, tmp_path, text, message):
    from tmb_analysis import config

    bad = tmp_path / "kolada.yaml"
    bad.write_text(text, encoding="utf-8")
    monkeypatch.setattr(kolada_mod, "read_config", lambda name: config.read_config(name, bad))
    with pytest.raises(ValueError, match=message) as err:
        kolada_mod._kolada_config()
    assert str(bad) in str(err.value)
