"""Secondary indexes as a service: definitions (``definition``), the values
an index can hold (``values``) and background builds (``builder``).

Evaluating an index function needs the ReQL evaluator, which sits above this
layer: ``systables.reql.index_functions`` compiles definitions into the
``fn(doc) -> [values]`` the storage engine calls, and the composition root
hands that compiler to the storage engine.
"""
