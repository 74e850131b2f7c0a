"""Pages kept by key, in each process: built once per change of the data, served from memory.

`revision.py` keeps one number in the database that every committed write raises
(`data_revision`), in the writing transaction itself; `cache.py` keeps rendered pages keyed by
that number, the viewer, the language and the minute, so a page is never served after a write
it does not show, nor to anyone else.
"""
