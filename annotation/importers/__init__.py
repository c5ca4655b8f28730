"""Corpus importers. Each format has a parser that turns a release folder into
:class:`~annotation.importers.records.UtteranceRecord` objects without touching the database;
:func:`annotation.services.corpora.corpus_import` writes them in one transaction."""
