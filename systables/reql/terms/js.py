"""r.js: JavaScript evaluated by an isolated QuickJS worker."""

from __future__ import annotations
