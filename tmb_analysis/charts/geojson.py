"""Kommun polygons as GeoJSON for plotly's geo layer: simplified, snapped, wound for plotly.js, labelled."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np

SIMPLIFY_TOLERANCE = 0.005  # degrees, ~300-500 m at 60° N
COORD_DECIMALS = 4  # ~10 m


def _label_point(geom):
    """Where a kommun's label goes: the pole of inaccessibility of its largest part."""
    import shapely

    part = max(getattr(geom, "geoms", [geom]), key=lambda g: g.area)
    try:
        return shapely.polylabel(part, tolerance=0.005)
    except Exception:  # noqa: BLE001 - GEOS cannot place it: any point inside will do
        return geom.representative_point()


def orient_for_plotly(geoms):
    """Rings oriented for plotly's geo layer: exterior rings clockwise, holes counter-clockwise (in
    lon/lat, north up), for an array of (Multi)Polygons.

    plotly.js draws geojson with d3-geo, which reads a ring's direction on the sphere to tell its
    inside: a counter-clockwise exterior ring encloses the whole world except the kommun, and the
    map frame fills with that kommun's colour. This is the opposite of the GeoJSON RFC 7946
    right-hand rule; coverage simplification can reverse rings, so orient after it (and after
    rounding).
    """
    import shapely

    geoms = np.asarray(geoms)
    if hasattr(shapely, "orient_polygons"):  # shapely >= 2.1, vectorised
        return shapely.orient_polygons(geoms, exterior_cw=True)
    from shapely.geometry.polygon import orient

    def one(g):
        if g is None or g.is_empty:
            return g
        if g.geom_type == "MultiPolygon":
            return shapely.multipolygons([orient(p, sign=-1.0) for p in g.geoms])
        return orient(g, sign=-1.0) if g.geom_type == "Polygon" else g

    return np.array([one(g) for g in geoms], dtype=object)


def _simplified_kommun_geometry(lan_code: str | None):
    """(frame, geometries): the län's kommuner simplified (coverage-preserving), snapped to the
    4-decimal grid (``set_precision`` keeps them valid and drops parts that collapse) and oriented
    for plotly; a kommun that would vanish keeps its snapped original."""
    import shapely

    from ..geography import registry

    gdf = registry().kommun_geometry(lan_code)
    geoms = np.asarray(gdf.geometry.values)
    try:  # topology-aware: neighbours keep a shared border, no slivers or gaps
        simplified = shapely.coverage_simplify(geoms, SIMPLIFY_TOLERANCE)
    except Exception:  # noqa: BLE001 - older GEOS
        simplified = shapely.simplify(geoms, SIMPLIFY_TOLERANCE, preserve_topology=True)
    grid = 10.0**-COORD_DECIMALS
    snapped = shapely.set_precision(simplified, grid)
    vanished = shapely.is_missing(snapped) | shapely.is_empty(snapped)
    if vanished.any():
        snapped[vanished] = shapely.set_precision(geoms[vanished], grid)
    # set_precision works on the grid in binary floating point: round so that JSON has 4 decimals
    snapped = shapely.transform(snapped, lambda c: np.round(c, COORD_DECIMALS))
    return gdf, orient_for_plotly(snapped)


@lru_cache(maxsize=32)
def _kommun_geojson_text(lan_code: str | None) -> str:
    from shapely.geometry import mapping

    gdf, simplified = _simplified_kommun_geometry(lan_code)
    features = []
    for code, name, geom, orig in zip(gdf["area_code"], gdf["area_name"], simplified, gdf.geometry.values):
        pt = _label_point(orig)
        features.append(
            {
                "type": "Feature",
                "id": str(code),
                "properties": {
                    "area_code": str(code),
                    "area_name": str(name),
                    "label_lon": round(pt.x, 3),
                    "label_lat": round(pt.y, 3),
                },
                "geometry": mapping(geom),
            }
        )
    fc = {"type": "FeatureCollection", "features": features}
    return json.dumps(fc, separators=(",", ":"), ensure_ascii=False)


def _subset(geo: dict, codes) -> dict:
    """Only the features a trace draws: each trace embeds its own copy of its geojson."""
    keep = set(codes)
    return {
        "type": "FeatureCollection",
        "features": [f for f in geo["features"] if f["properties"]["area_code"] in keep],
    }


def kommun_geojson(lan_code: str | None = None) -> dict:
    """Simplified kommun polygons (GeoJSON FeatureCollection, WGS84), one feature per kommun,
    with ``properties.area_code``, ``area_name`` and a label point. A fresh copy per call."""
    return json.loads(_kommun_geojson_text(None if lan_code is None else str(lan_code)))
