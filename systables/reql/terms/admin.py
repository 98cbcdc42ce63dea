"""Administration terms on tables and databases: config, status, reconfigure, rebalance, grant, set/get_write_hook."""

from __future__ import annotations
