"""systables: a document database server speaking RethinkDB's protocol and ReQL."""

__version__ = "0.1.0"
