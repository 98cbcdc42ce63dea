"""Secondary index terms: index_create, index_drop, index_list, index_rename, index_status, index_wait."""

from __future__ import annotations
