"""The shared reader of the YAML configuration and the paths of config.py."""

import pytest

from tmb_analysis.config import read_config


def test_package_file_and_its_name():
    data, where = read_config("analysis")
    assert where == "tmb_analysis/config/analysis.yaml" and data["funnel"]["level"] == 0.998


def test_given_file_empty_or_not_a_mapping(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    assert read_config("x", empty) == ({}, str(empty))
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"list\.yaml: expected a mapping at the top level"):
        read_config("x", listy)
