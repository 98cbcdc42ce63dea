"""Geospatial values and computations, as RethinkDB 2.4 has them.

* ``pseudo``: the GEOMETRY pseudo-type's syntax check (no S2; used on input).
* ``geojson``: GEOMETRY datums: construction, validation into S2 shapes,
  GeoJSON conversion, with RethinkDB's errors.
* ``shapes``: the sphere (S2): points, lines, polygons, intersects/includes.
* ``geodesic``: the ellipsoid (GeographicLib): distances, circles, units,
  reference ellipsoids.
* ``distance``: point to any geometry.
* ``index``: S2 cell keys of geo indexes and the key ranges of a query.
* ``nearest``: the ring-by-ring traversal of ``get_nearest``.

This package depends only on ``systables.datum``; errors are the datum
layer's ReQL errors (QUERY_LOGIC unless stated), raised without a term: the
calling term attaches itself, as RethinkDB's geo terms do.
"""
