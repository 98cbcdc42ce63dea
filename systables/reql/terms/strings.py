"""String terms: match, split, upcase, downcase."""

from __future__ import annotations
