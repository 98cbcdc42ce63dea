"""Every term family registers its classes on import."""

from . import (  # noqa: F401
    admin,
    aggregation,
    arrays,
    basic,
    datum_ops,
    db_table,
    fields,
    indexes,
    joins,
    js,
    math,
    membership,
    objects,
    ordering,
    slicing,
    strings,
    time_terms,
    transforms,
    union,
    writes,
)
