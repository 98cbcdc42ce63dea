"""Time terms: now, time, epoch_time, iso8601, in_timezone, during, date parts."""

from __future__ import annotations
