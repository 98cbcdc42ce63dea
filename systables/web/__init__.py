"""The administrative HTTP port: the web shell (Data Explorer) and RethinkDB's
``/ajax/reql/`` protocol that the browser's JavaScript driver speaks."""
