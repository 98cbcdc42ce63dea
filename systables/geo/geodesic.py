"""Distances and circles on an ellipsoid, with RethinkDB's numbers to the last bit.

RethinkDB computes them with Karney's geodesic algorithms (GeographicLib C
1.32, bundled).  ``geographiclib`` 1.43 for Python reproduces its results bit
for bit once its ``hypot`` is the naive ``sqrt(x*x + y*y)`` that the C code
uses: Python's ``math.hypot`` is correctly rounded and differs in the last
bit; versions from 1.44 on changed the algorithm itself.  So the version is
pinned, checked here, and its modules get a ``math`` namespace whose
``hypot`` is the naive one.

Units and reference ellipsoids (``unit=``, ``geo_system=``) are parsed here
too, with RethinkDB's errors.
"""

from __future__ import annotations

import functools
import math
import types
from dataclasses import dataclass
from typing import Generator

import geographiclib
import geographiclib.geodesic
import geographiclib.geodesicline
import geographiclib.geomath
from geographiclib.geodesic import Geodesic

from ..datum import REQL_TYPE, fmt_double, print_datum, type_name
from ..datum.errors import ReqlNonExistenceError, ReqlQueryLogicError

PINNED_GEOGRAPHICLIB = "1.43"


def _naive_hypot(x: float, y: float) -> float:
    return math.sqrt(x * x + y * y)


def _patch_geographiclib() -> None:
    version = getattr(geographiclib, "__version__", None)
    if version is not None and version != PINNED_GEOGRAPHICLIB:
        raise ImportError(f"geographiclib {PINNED_GEOGRAPHICLIB} is required (found {version})")
    patched = types.SimpleNamespace(**{k: getattr(math, k) for k in dir(math) if not k.startswith("_")})
    patched.hypot = _naive_hypot
    for module in (geographiclib.geomath, geographiclib.geodesic, geographiclib.geodesicline):
        module.math = patched  # type: ignore[attr-defined]


_patch_geographiclib()


# ---------------------------------------------------------------------------
# Units: conversion multiplies by a precomputed factor (not a division), so
# that ``distance(.., unit='km')`` equals ``distance(..) * (1.0/1000.0)``.

METERS_PER_UNIT = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "nm": 1852.0, "ft": 0.3048}


def parse_unit(value: object) -> str:
    if type(value) is not str:
        raise ReqlQueryLogicError(f"Expected type STRING but found {type_name(value)}.")
    if value not in METERS_PER_UNIT:
        raise ReqlQueryLogicError(f"Unrecognized distance unit `{value}`.")
    return value


def convert(value: float, from_unit: str, to_unit: str) -> float:
    return value * (METERS_PER_UNIT[from_unit] / METERS_PER_UNIT[to_unit])


# ---------------------------------------------------------------------------
# Reference ellipsoids.


@dataclass(frozen=True)
class Ellipsoid:
    a: float  # equator radius
    f: float  # flattening

    @property
    def minor_radius(self) -> float:
        return min(self.a, (1.0 - self.f) * self.a)

    @property
    def max_radius_ratio(self) -> float:
        """max(a, b) / min(a, b): how much a spherical circle must grow to
        cover an ellipsoidal one."""
        b = (1.0 - self.f) * self.a
        return max(self.a, b) / min(self.a, b)

    @property
    def geodesic(self) -> Geodesic:
        return _geodesic(self.a, self.f)


WGS84 = Ellipsoid(6378137.0, 1.0 / 298.257223563)
UNIT_SPHERE = Ellipsoid(1.0, 0.0)


@functools.lru_cache(maxsize=64)
def _geodesic(a: float, f: float) -> Geodesic:
    return Geodesic(a, f)


def parse_geo_system(value: object) -> Ellipsoid:
    """``geo_system=``: "WGS84", "unit_sphere" or ``{a: radius, f: flattening}``."""
    if type(value) is dict and REQL_TYPE not in value:
        return _custom_ellipsoid(value)
    if type(value) is not str:
        raise ReqlQueryLogicError(f"Expected type STRING but found {type_name(value)}.")
    if value == "WGS84":
        return WGS84
    if value == "unit_sphere":
        return UNIT_SPHERE
    raise ReqlQueryLogicError(f'Unrecognized geo system "{value}" (valid options: "WGS84", "unit_sphere").')


def _custom_ellipsoid(spec: dict) -> Ellipsoid:
    for key in ("a", "f"):
        if key not in spec:
            raise ReqlNonExistenceError(f"No attribute `{key}` in object:\n{print_datum(spec)}")
    a, f = spec["a"], spec["f"]
    for v in (a, f):
        if type(v) is not int and type(v) is not float:
            raise ReqlQueryLogicError(f"Expected type NUMBER but found {type_name(v)}.")
    if a <= 0:
        raise ReqlQueryLogicError("The equator radius `a` must be positive.")
    if not 0 <= f < 1:
        raise ReqlQueryLogicError("The flattening `f` must be in the range [0, 1).")
    return Ellipsoid(float(a), float(f))


# ---------------------------------------------------------------------------
# Geodesics.  Positions are (longitude, latitude) in degrees, as in GeoJSON;
# GeographicLib takes latitude first.


def geodesic_distance(p: tuple[float, float], q: tuple[float, float], e: Ellipsoid) -> float:
    """Meters (of the ellipsoid's unit) between two positions."""
    return e.geodesic.Inverse(p[1], p[0], q[1], q[0])["s12"]


def check_radius(radius: float, e: Ellipsoid) -> None:
    if radius <= 0.0:
        raise ReqlQueryLogicError("Radius must be positive")
    limit = e.minor_radius * math.pi / 2.0
    if radius >= limit:
        raise ReqlQueryLogicError(
            "Radius must be smaller than a quarter of the circumference along the minor axis of the "
            f"reference ellipsoid.  Got {fmt_double(radius)}m, but must be smaller than {fmt_double(limit)}m."
        )


CIRCLE_STEP = 16  # vertices between two yields of circle_steps (each costs ~20 µs)


def circle_vertices(center: tuple[float, float], radius: float, num_vertices: int, e: Ellipsoid) -> list[list[float]]:
    steps = circle_steps(center, radius, num_vertices, e)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def circle_steps(
    center: tuple[float, float], radius: float, num_vertices: int, e: Ellipsoid
) -> Generator[None, None, list[list[float]]]:
    """A closed ring of ``num_vertices`` positions at ``radius`` meters from
    ``center``; vertex 0 lies due south, the others follow clockwise from the
    south through the west (RethinkDB's ``build_circle``).  Yields between
    steps of the work, for callers that must let others run."""
    check_radius(radius, e)
    if num_vertices <= 0:
        raise ReqlQueryLogicError("num_vertices must be positive.")
    g = e.geodesic
    ring = []
    for i in range(num_vertices):
        if i and i % CIRCLE_STEP == 0:
            yield
        azimuth = -180.0 + (360.0 / num_vertices * i)
        out = g.Direct(center[1], center[0], azimuth, radius)
        ring.append([out["lon2"], out["lat2"]])
    ring.append(list(ring[0]))
    return ring
