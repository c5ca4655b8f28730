"""The range of values an integer column holds, so that forms and serializers refuse (400) what
the database would refuse (500 on PostgreSQL) or silently store (SQLite ignores column widths)."""

from django.db.backends.base.operations import BaseDatabaseOperations


def column_max(model, field_name: str) -> int:
    """Largest value of ``model.field_name``'s integer column (Django's own ranges, as PostgreSQL's)."""
    internal_type = model._meta.get_field(field_name).get_internal_type()
    return BaseDatabaseOperations.integer_field_ranges[internal_type][1]
