"""Array terms: append, prepend, insert_at, splice_at, delete_at, change_at, difference, set operations."""

from __future__ import annotations
