"""Joins: inner_join, outer_join, eq_join, zip."""

from __future__ import annotations
