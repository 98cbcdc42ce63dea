"""JavaScript for ``r.js``: QuickJS in a pool of worker processes."""

from .pool import Evaluated, JsError, JsPool, JsTimeout

__all__ = ["Evaluated", "JsError", "JsPool", "JsTimeout"]
