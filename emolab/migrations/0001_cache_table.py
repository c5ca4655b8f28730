"""The database cache's table, so that a deployment without Redis has a working shared cache
(throttling) right after `migrate`. With another cache backend this creates nothing; a
deployment that switches to the database cache later runs `manage.py createcachetable`."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []
    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
