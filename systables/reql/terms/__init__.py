"""Every term family registers its classes on import."""

from . import aggregation, basic, db_table, math, objects, sequence, writes  # noqa: F401
