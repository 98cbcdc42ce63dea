"""The benchmark's documents (~300 bytes of JSON each) and bulk loading.

Field layout, chosen so that result sizes stay fixed while the data grows:

* ``id``: 0..n-1, so point gets pick a random existing key;
* ``bucket = id % 100``: a non-indexed field, ``bucket == 7`` selects 1 %;
* ``k = id // 10``: the secondary index; every value has 10 documents, so
  ``get_all`` returns 10 and a 10-value ``between`` returns 100.
"""

from __future__ import annotations

import random
from typing import Any

from rethinkdb.ast import Datum

FILTER_BUCKET = 7
DOCS_PER_K = 10
LOAD_BATCH = 1000
MAKE_ARRAY = 2  # TermType.MAKE_ARRAY


def document(i: int) -> dict[str, Any]:
    return {
        "id": i,
        "name": f"user-{i:07d}",
        "email": f"user{i}@example.com",
        "age": 18 + i % 60,
        "bucket": i % 100,
        "k": i // DOCS_PER_K,
        "score": round(i * 0.37, 2),
        "active": i % 3 == 0,
        "tags": ["alpha", "beta", "gamma"][: 1 + i % 3],
        "address": {"street": f"{i % 997} Main Street", "city": "Lisbon", "zip": f"{10000 + i % 89999}"},
        "bio": "x" * 60,
    }


def new_document(rng: random.Random) -> dict[str, Any]:
    """A document for the insert workloads: the server generates its key."""
    doc = document(rng.randrange(1 << 30))
    del doc["id"]
    return doc


def as_term(value: Any) -> Any:
    """A datum in the wire's term encoding (arrays become MAKE_ARRAY terms)."""
    if type(value) is list:
        return [MAKE_ARRAY, [as_term(v) for v in value]]
    if type(value) is dict:
        return {k: as_term(v) for k, v in value.items()}
    return value


def prebuilt(value: Any) -> Datum:
    """``value`` as a ready-made driver term.

    Loading only: the driver's own ``r.expr`` walk costs ~50 µs per document,
    which would make setup, not the server, the bottleneck.  The measured
    workloads use the driver as applications do.
    """
    return Datum(as_term(value))


def id_batches(start: int, stop: int, size: int = LOAD_BATCH) -> list[tuple[int, int]]:
    return [(lo, min(stop, lo + size)) for lo in range(start, stop, size)]
