"""The geometry that the county maps emit: ring orientation for plotly's geo layer, validity, area.

plotly.js draws geojson with d3-geo, which takes a ring's direction to tell its inside: exterior
rings must run clockwise and holes counter-clockwise (lon/lat, north up), the opposite of the
GeoJSON RFC 7946 right-hand rule. A wrong exterior ring fills the whole map frame (see
tests/test_browser.py::test_every_county_map_is_drawn_right_side_out for the rendered check).
"""

import pytest
import shapely
from shapely.geometry import Polygon, shape

from tmb_analysis.charts import COORD_DECIMALS, kommun_geojson, orient_for_plotly
from tmb_analysis.geography import registry

#: Simplification (0.005°) and the 4-decimal grid may change a kommun's area by at most this much.
MAX_AREA_CHANGE = 0.03


def signed_area(ring) -> float:
    """Shoelace area of a closed ring of [lon, lat] pairs: positive when it runs counter-clockwise."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))


def polygons(geometry: dict) -> list:
    assert geometry["type"] in ("Polygon", "MultiPolygon"), geometry["type"]
    return [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]


def test_signed_area_by_hand():
    square_ccw = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    assert signed_area(square_ccw) == 1.0
    assert signed_area(square_ccw[::-1]) == -1.0


@pytest.fixture(scope="module")
def county_features():
    """The features every county map draws, by län: what county_map and county_map_selectable emit."""
    return {lan.code: kommun_geojson(lan.code)["features"] for lan in registry().all_lan()}


def test_the_county_maps_hold_every_kommun_once(county_features):
    codes = [f["properties"]["area_code"] for feats in county_features.values() for f in feats]
    assert sorted(codes) == sorted(k.code for k in registry().kommuner())
    assert len(codes) == 290
    for lan, feats in county_features.items():
        assert all(f["properties"]["area_code"][:2] == lan for f in feats)


@pytest.mark.parametrize("which", ["each county", "whole country"])
def test_every_ring_is_oriented_for_plotly(county_features, which):
    """Exterior rings clockwise, holes counter-clockwise, closed, with area, in every emitted feature."""
    if which == "whole country":
        features = kommun_geojson(None)["features"]
    else:
        features = [f for feats in county_features.values() for f in feats]
    wrong, rings = [], 0
    for f in features:
        for poly in polygons(f["geometry"]):
            for i, ring in enumerate(poly):
                rings += 1
                assert len(ring) >= 4 and ring[0] == ring[-1], f["id"]
                area = signed_area(ring)
                assert area != 0, f"{f['id']}: ring {i} has no area"
                if (i == 0) != (area < 0):  # exterior must be clockwise (negative), holes positive
                    wrong.append((f["id"], f["properties"]["area_name"], "exterior" if i == 0 else "hole"))
    assert rings >= 290
    assert wrong == []


def test_emitted_polygons_are_valid_and_close_to_the_unsimplified_ones(county_features):
    originals = registry().kommun_geometry()
    original_area = dict(zip(originals["area_code"], shapely.area(originals.geometry.values)))
    for feats in county_features.values():
        for f in feats:
            geom = shape(f["geometry"])
            assert not geom.is_empty and geom.is_valid, (f["id"], shapely.is_valid_reason(geom))
            change = abs(geom.area / original_area[f["id"]] - 1)
            assert change <= MAX_AREA_CHANGE, (f["id"], f["properties"]["area_name"], change)
            for poly in polygons(f["geometry"]):
                for ring in poly:
                    assert all(round(c, COORD_DECIMALS) == c for pt in ring for c in pt), f["id"]


def _rfc7946_polygon_with_hole() -> Polygon:
    """A 4x4 square with a 1x1 hole, wound the RFC 7946 way: exterior counter-clockwise, hole clockwise."""
    exterior = [(10, 60), (14, 60), (14, 64), (10, 64), (10, 60)]
    hole = [(11, 61), (11, 62), (12, 62), (12, 61), (11, 61)]
    poly = Polygon(exterior, [hole])
    assert signed_area(list(poly.exterior.coords)) > 0 and signed_area(list(poly.interiors[0].coords)) < 0
    return poly


def _assert_plotly_wound(geom):
    for poly in getattr(geom, "geoms", [geom]):
        assert signed_area(list(poly.exterior.coords)) < 0
        assert all(signed_area(list(h.coords)) > 0 for h in poly.interiors)


@pytest.mark.parametrize("vectorised", [True, False])
def test_orient_for_plotly_turns_rfc7946_rings(monkeypatch, vectorised):
    if not vectorised:  # the per-polygon path for shapely < 2.1
        monkeypatch.delattr(shapely, "orient_polygons", raising=False)
    poly = _rfc7946_polygon_with_hole()
    multi = shapely.multipolygons([poly, Polygon([(20, 60), (21, 60), (21, 61), (20, 60)])])
    out = orient_for_plotly([poly, multi, Polygon()])
    _assert_plotly_wound(out[0])
    _assert_plotly_wound(out[1])
    assert out[2].is_empty
    assert out[0].area == poly.area == 15 and out[1].area == multi.area
    assert shapely.equals(out[0], poly) and shapely.equals(out[1], multi)
