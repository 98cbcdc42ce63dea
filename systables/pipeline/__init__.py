"""The query pipeline: every request from a driver connection
(``connection``) or an ``/ajax/reql/`` connection id goes through a
``session.Session``; each START becomes a ``query.Query`` with explicit
states, run inline or in a task of its own (``session``), and answered in
batches (``results``).  ``sessions.Sessions`` knows every live session and
is the source of ``query`` jobs."""
