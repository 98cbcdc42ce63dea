"""Changefeeds, below the evaluator: the hub that fans the storage change
stream out to subscriptions (``hub``), the subscriptions themselves (range,
point and limit, ``subscriptions``), and the bounded, squashing queue every
feed reads from (``queue``).

The ReQL layer (``reql/feeds.py``) turns a query into subscriptions: it gives
them what they need as plain callables (the transforms before ``changes``,
evaluated synchronously; index functions), so nothing here evaluates ReQL.
"""
