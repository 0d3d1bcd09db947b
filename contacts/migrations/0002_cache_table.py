"""Create the database cache table when CACHE_URL points at the database cache.

The access token and its lock live in the cache; with the default settings that
is a database table, so `migrate` alone prepares a new installation.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
