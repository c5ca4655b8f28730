"""``manage.py export_study``: every export, the models, the report and a README in one zip."""

import io
import json
import zipfile

import pandas as pd
import pytest
from django.core.management import CommandError, call_command

from annotation.models import ExpertVote, Judgment
from models_app.models import UtterancePrediction
from tests.factories import build_report_data, job_with_ctc_model, small_corpus, tiny_ctc_model


def test_the_study_zip_holds_every_export_the_report_and_a_readme(db, tmp_path, media_root):
    data = build_report_data(tmp_path / "tiny")
    out = tmp_path / "study.zip"
    printed = io.StringIO()
    call_command(
        "export_study", str(out), "--campaign", str(data["campaign"].pk), "--job", str(data["job"].pk), stdout=printed
    )
    archive = zipfile.ZipFile(out)
    names = set(archive.namelist())
    assert {"README.md", "judgments.csv", "votes-tiny.csv", "predictions.csv", "report/comparison.json"} <= names
    assert "report/figures/table1.svg" in names and "report/figures/answer_index.svg" in names
    assert any(name.startswith("report/tables/") for name in names)
    judgments = pd.read_csv(archive.open("judgments.csv"), keep_default_na=False)
    votes = pd.read_csv(archive.open("votes-tiny.csv"), keep_default_na=False)
    predictions = pd.read_csv(archive.open("predictions.csv"), keep_default_na=False)
    assert len(judgments) == Judgment.objects.filter(campaign=data["campaign"]).count() == 9
    assert len(votes) == ExpertVote.objects.filter(utterance__corpus=data["corpus"]).count() == 24
    assert len(predictions) == UtterancePrediction.objects.filter(job=data["job"], row__in=data["job"].methods).count()
    report = json.loads(archive.read("report/comparison.json"))
    assert report["corpus"] == "tiny" and report["campaign"]["id"] == data["campaign"].pk
    readme = archive.read("README.md").decode()
    for name in names - {"README.md"}:
        assert f"`{name}`" in readme, name
    assert "judgments.csv`: every answer of campaign" in readme and "9 rows" in readme
    assert "| `expert_votes` |" in readme
    assert "Wrote" in printed.getvalue() and not (tmp_path / "study.zip.partial").exists()


def test_the_models_of_the_job_are_in_the_zip(db, tmp_path, media_root):
    job = job_with_ctc_model(small_corpus(tmp_path), tiny_ctc_model())
    out = tmp_path / "study.zip"
    call_command("export_study", str(out), "--job", str(job.pk), stdout=io.StringIO())
    archive = zipfile.ZipFile(out)
    inner = zipfile.ZipFile(io.BytesIO(archive.read("models/ctc.zip")))
    assert sorted(inner.namelist()) == ["model.json", "weights/ctc.ckpt"]


def test_unknown_ids_are_refused(db, tmp_path):
    with pytest.raises(CommandError, match="no campaign 999"):
        call_command("export_study", str(tmp_path / "x.zip"), "--campaign", "999")
    with pytest.raises(CommandError, match="name a campaign"):
        call_command("export_study", str(tmp_path / "x.zip"))
