"""Stored Table 1 results: the number of utterances is ``n``, as in the experiment's JSON.

Jobs finalized before Table 1 had one aggregation (ser/table1.py) stored it as ``n_utterances``.
"""

from django.db import migrations


def _rename(apps, old: str, new: str) -> None:
    TrainingJob = apps.get_model("models_app", "TrainingJob")
    for job in TrainingJob.objects.exclude(results=None).only("pk", "results").iterator():
        if not isinstance(job.results, dict):
            continue
        changed = False
        for row in job.results.values():
            if isinstance(row, dict) and old in row and new not in row:
                row[new] = row.pop(old)
                changed = True
        if changed:
            job.save(update_fields=["results"])


def forwards(apps, schema_editor):
    _rename(apps, "n_utterances", "n")


def backwards(apps, schema_editor):
    _rename(apps, "n", "n_utterances")


class Migration(migrations.Migration):
    dependencies = [("models_app", "0002_training_jobs")]

    operations = [migrations.RunPython(forwards, backwards)]
