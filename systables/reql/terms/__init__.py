"""Every term family registers its classes on import."""

from . import (  # noqa: F401
    admin,
    aggregation,
    arrays,
    basic,
    datum_ops,
    db_table,
    indexes,
    joins,
    js,
    math,
    objects,
    sequence,
    strings,
    time_terms,
    writes,
)
