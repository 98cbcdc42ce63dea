"""Type and conversion terms: type_of, coerce_to, info, json, to_json_string, binary, random, bit ops."""

from __future__ import annotations
