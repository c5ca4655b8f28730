"""The judgment, vote and prediction exports: roles, row counts against the database, columns as
documented (docs/exports.md), and the tables read back with pandas in both formats.

The data is ``tests.factories.build_report_data``: 8 utterances with 3 votes each, a campaign with
9 answers (1 warm-up, 8 scored) by alice and bob, a job with dummy, framewise and ctc predictions.
"""

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotation.models import CANT_TELL, Corpus, ExpertVote, Judgment, Utterance
from annotation.selectors.exports import JUDGMENT_COLUMNS, VOTE_COLUMNS, assessor_pseudonym, label_source
from models_app.models import UtterancePrediction
from models_app.selectors.exports import documented_prediction_columns
from tests.factories import build_report_data, make_user

DOCS = Path(__file__).resolve().parents[2] / "docs" / "exports.md"


@pytest.fixture
def data(db, tmp_path):
    data = build_report_data(tmp_path / "tiny")
    job = data["job"]
    # The CTC best-path and exact rows of two utterances, to see them become columns of the ctc row.
    for utterance_name, best, exact in (("s1_anger_0", "anger", "anger"), ("s2_neutral_1", "neutral", "")):
        utterance = data["utterances"][utterance_name]
        for row, label in (("ctc_best_path", best), ("ctc_exact", exact)):
            UtterancePrediction.objects.create(
                job=job,
                row=row,
                fold=1 if utterance_name.startswith("s2") else 0,
                utterance=utterance,
                true_label=utterance.label,
                predicted_label=label,
                probabilities=[0.5, 0.5],
                decoded=[] if not label else [[["anger", "neutral"].index(label), 0, 3]],
            )
    return data


def _urls(data):
    return {
        "judgments": f"/api/campaigns/{data['campaign'].pk}/judgments",
        "votes": f"/api/corpora/{data['corpus'].pk}/votes",
        "predictions": f"/api/jobs/{data['job'].pk}/predictions",
    }


def _table(response, file_format):
    body = b"".join(response.streaming_content)
    if file_format == "csv":
        return pd.read_csv(io.BytesIO(body), keep_default_na=False)
    return pd.read_json(io.BytesIO(body), lines=True)


@pytest.mark.parametrize("export", ["judgments", "votes", "predictions"])
@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_researchers_and_admins_get_every_export_in_both_formats(
    api_client, researcher, admin_user, data, export, file_format
):
    for user in (researcher, admin_user):
        api_client.force_authenticate(user)
        response = api_client.get(f"{_urls(data)[export]}.{file_format}")
        assert response.status_code == 200
        assert response.streaming
        assert response["Content-Type"].startswith("text/csv" if file_format == "csv" else "application/x-ndjson")
        assert "attachment" in response["Content-Disposition"]


@pytest.mark.parametrize("export", ["judgments", "votes", "predictions"])
def test_assessors_and_other_users_are_refused_and_anonymous_gets_401(api_client, data, export):
    url = f"{_urls(data)[export]}.csv"
    # alice is an assessor of this very campaign: she still may not export it.
    alice = Judgment.objects.filter(assessor__username="alice").first().assessor
    for user in (alice, make_user("assessor"), make_user("none")):
        api_client.force_authenticate(user)
        assert api_client.get(url).status_code == 403
    api_client.force_authenticate(None)
    assert api_client.get(url).status_code == 401


def test_pages_session_download_works_and_anonymous_is_refused(client, researcher, data):
    url = f"{_urls(data)['votes']}.csv"
    assert client.get(url).status_code in (401, 403)
    client.force_login(researcher)
    assert client.get(url).status_code == 200


def test_token_clients_asking_for_csv_are_not_refused_by_content_negotiation(api_client, researcher, data):
    token = Token.objects.create(user=researcher)
    response = api_client.get(
        f"{_urls(data)['judgments']}.csv", HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_ACCEPT="text/csv"
    )
    assert response.status_code == 200


def test_unknown_objects_answer_404(api_client, researcher, data):
    api_client.force_authenticate(researcher)
    assert api_client.get("/api/campaigns/99999/judgments.csv").status_code == 404
    assert api_client.get("/api/corpora/99999/votes.jsonl").status_code == 404
    assert api_client.get("/api/jobs/99999/predictions.csv").status_code == 404
    assert api_client.get(f"/api/corpora/{data['corpus'].pk}/votes.xlsx").status_code == 404


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_judgments_one_row_per_answer_with_pseudonyms_and_hand_checked_values(
    api_client, researcher, data, file_format
):
    api_client.force_authenticate(researcher)
    table = _table(api_client.get(f"{_urls(data)['judgments']}.{file_format}"), file_format)
    assert list(table.columns) == [column.name for column in JUDGMENT_COLUMNS]
    assert len(table) == Judgment.objects.filter(campaign=data["campaign"]).count() == 9
    assert sorted(table["phase"].value_counts().items()) == [("scored", 8), ("warmup", 1)]
    alice = Judgment.objects.filter(assessor__username="alice").first().assessor_id
    assert set(table["assessor"]) == {assessor_pseudonym(alice), assessor_pseudonym(alice + 1)}
    assert not table["assessor"].str.contains("alice|bob").any()
    warmup = table[table["phase"] == "warmup"].iloc[0]
    assert (warmup["utterance"], warmup["answer"], warmup["expert_label"]) == ("s2_neutral_1", "anger", "neutral")
    assert warmup["correct"] in (False, "false")
    votes = warmup["expert_votes"] if file_format == "jsonl" else json.loads(warmup["expert_votes"])
    assert votes == {"E0": ["neutral"], "E1": ["neutral"], "E2": ["neutral"]}
    assert set(table["corpus"]) == {"tiny"}
    assert (table["response_ms"] == 1500).all()


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_cant_tell_and_changed_answers_are_their_own_columns(api_client, researcher, data, file_format):
    # Written as the services leave them: a "can't tell" (stored not correct, exported neither
    # right nor wrong) and an answer changed by an undo (first answer and change time kept).
    scored = list(Judgment.objects.filter(campaign=data["campaign"], phase="main").order_by("pk"))
    Judgment.objects.filter(pk=scored[0].pk).update(answer=CANT_TELL, is_correct=False, played_fraction=1.0)
    changed_at = timezone.now()
    first = scored[1].answer
    final = next(c for c in data["campaign"].classes if c != first)
    Judgment.objects.filter(pk=scored[1].pk).update(
        first_answer=first, answer=final, changed_at=changed_at, is_correct=final == scored[1].expert_label
    )
    api_client.force_authenticate(researcher)
    table = _table(api_client.get(f"{_urls(data)['judgments']}.{file_format}"), file_format)
    by_position = {(row["assessor"], row["position"]): row for _, row in table.iterrows()}
    cant_tell = by_position[(assessor_pseudonym(scored[0].assessor_id), scored[0].position)]
    assert cant_tell["answer"] == "cant_tell" and cant_tell["cant_tell"] in (True, "true")
    assert pd.isna(cant_tell["correct"]) or cant_tell["correct"] in ("", None)
    assert float(cant_tell["played_fraction"]) == 1.0
    changed = by_position[(assessor_pseudonym(scored[1].assessor_id), scored[1].position)]
    assert (changed["first_answer"], changed["answer"]) == (first, final)
    assert pd.Timestamp(changed["changed_at"]) == pd.Timestamp(changed_at)
    untouched = by_position[(assessor_pseudonym(scored[2].assessor_id), scored[2].position)]
    assert untouched["cant_tell"] in (False, "false")
    assert untouched["correct"] in (True, False, "true", "false")


def test_identities_for_admins_only(api_client, researcher, admin_user, data):
    url = f"{_urls(data)['judgments']}.csv?identities=1"
    api_client.force_authenticate(researcher)
    assert api_client.get(url).status_code == 403
    api_client.force_authenticate(admin_user)
    table = _table(api_client.get(url), "csv")
    assert sorted(set(table["assessor"])) == ["alice", "bob"]


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_votes_one_row_per_vote_with_consensus_and_rule(api_client, researcher, data, file_format):
    api_client.force_authenticate(researcher)
    table = _table(api_client.get(f"{_urls(data)['votes']}.{file_format}"), file_format)
    assert list(table.columns) == [column.name for column in VOTE_COLUMNS]
    assert len(table) == ExpertVote.objects.filter(utterance__corpus=data["corpus"]).count() == 24
    row = table[(table["utterance"] == "s1_anger_0") & (table["rater"] == "E1")].iloc[0]
    # The factory's records carry no source label: the label is the one the three agreeing votes give.
    assert (row["label"], row["label_source"], row["rule_label"], row["n_raters"]) == ("anger", "rule", "anger", 3)
    assert row["n_dissenting"] == 0


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_predictions_one_row_per_utterance_and_method_with_ctc_decodings(api_client, researcher, data, file_format):
    api_client.force_authenticate(researcher)
    table = _table(api_client.get(f"{_urls(data)['predictions']}.{file_format}"), file_format)
    columns = list(table.columns)
    assert columns[: columns.index("p_anger")] == [c.name for c in documented_prediction_columns()][:9]
    assert "p_neutral" in columns and "ctc_exact_spans" in columns
    job = data["job"]
    assert len(table) == UtterancePrediction.objects.filter(job=job, row__in=job.methods).count() == 24
    assert sorted(table["method"].value_counts().items()) == [("ctc", 8), ("dummy", 8), ("framewise", 8)]
    ctc = table[table["method"] == "ctc"].set_index("utterance")
    assert ctc.loc["s1_anger_0", "ctc_best_path"] == "anger"
    empty = ctc.loc["s2_neutral_1"]
    assert empty["predicted_label"] == "" and empty["ctc_exact"] == ""
    spans = empty["ctc_best_path_spans"]
    assert (spans if file_format == "jsonl" else json.loads(spans)) == [["neutral", 0, 3]]
    framewise = table[table["method"] == "framewise"].set_index("utterance")
    assert framewise.loc["s1_anger_0", "predicted_label"] == "neutral"
    assert float(framewise.loc["s1_anger_0", "p_neutral"]) == pytest.approx(0.6)
    assert framewise["ctc_beam"].isin(["", None]).all() or framewise["ctc_beam"].isna().all()


def _documented_columns(section: str) -> list[str]:
    text = DOCS.read_text()
    part = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", part, flags=re.MULTILINE)


def test_docs_describe_every_column_in_order():
    assert _documented_columns("Judgments") == [c.name for c in JUDGMENT_COLUMNS]
    assert _documented_columns("Expert votes") == [c.name for c in VOTE_COLUMNS]
    assert _documented_columns("Predictions") == [c.name for c in documented_prediction_columns()]


def test_schema_documents_the_exports(api_client, researcher):
    api_client.force_authenticate(researcher)
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/campaigns/{campaign_id}/judgments.{file_format}",
        "/api/corpora/{corpus_id}/votes.{file_format}",
        "/api/jobs/{id}/predictions.{file_format}",
    ):
        assert path in paths, sorted(paths)
        content = paths[path]["get"]["responses"]["200"]["content"]
        assert {"text/csv", "application/x-ndjson"} <= set(content)
    assert "expert_votes" in paths["/api/campaigns/{campaign_id}/judgments.{file_format}"]["get"]["description"]


@pytest.mark.parametrize(
    ("corpus_format", "label", "source_label", "expected"),
    [
        ("emodb", "anger", "W", "corpus"),
        ("iemocap", "anger", "ang", "corpus"),
        ("manifest", "anger", "angry", "given"),
        ("manifest", "anger", "", "rule"),
        ("demo", "anger", "anger", "rule"),
        ("emodb", "", "", "none"),
    ],
)
def test_label_source_names_where_the_label_came_from(corpus_format, label, source_label, expected):
    corpus = Corpus(name="c", format=corpus_format)
    assert label_source(Utterance(corpus=corpus, label=label, source_label=source_label)) == expected


def test_pages_show_download_buttons_and_the_answer_count(client, researcher, data):
    client.force_login(researcher)
    campaign_page = client.get(f"/campaigns/{data['campaign'].pk}/").content.decode()
    assert f"/api/campaigns/{data['campaign'].pk}/judgments.csv" in campaign_page
    assert '<strong id="answer-count">9</strong> answers in all, warm-up included: 1 warm-up' in campaign_page
    assert "identities=1" not in campaign_page  # researchers are not offered the user names
    job_page = client.get(f"/jobs/{data['job'].pk}/").content.decode()
    assert f"/api/jobs/{data['job'].pk}/predictions.jsonl" in job_page
    home = client.get("/").content.decode()
    assert f"/api/corpora/{data['corpus'].pk}/votes.csv" in home


def test_answer_counts_agree_on_every_page_and_say_whether_warm_up_is_included(client, researcher, data):
    """9 answers in all: alice's warm-up answer and 8 scored ones (alice and bob, 4 each)."""
    client.force_login(researcher)
    campaign = data["campaign"]
    detail = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert '<strong id="answer-count">9</strong> answers in all, warm-up included: 1 warm-up,\n     8 scored' in detail
    assert "8 scored answers in all (warm-up and gold not counted here)" in detail
    listing = client.get("/campaigns/").content.decode()
    assert "All answers (warm-up included)" in listing and "Scored answers" in listing
    row = listing.split(f'/campaigns/{campaign.pk}/"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">8</td>\n      <td class="num">9</td>' in row
    chooser = client.get("/reports/").content.decode()
    assert "relabel (9 answers, warm-up included; 8 scored)" in chooser


def test_the_admin_exports_a_selection_of_judgments_with_user_names(client, data):
    admin = make_user("admin")
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    chosen = list(Judgment.objects.filter(assessor__username="bob").values_list("pk", flat=True))
    response = client.post(
        "/admin/annotation/judgment/", {"action": "export_csv", "_selected_action": [str(pk) for pk in chosen]}
    )
    assert response.status_code == 200 and response.streaming
    table = _table(response, "csv")
    assert list(table.columns) == [column.name for column in JUDGMENT_COLUMNS]
    assert len(table) == len(chosen) == 4 and set(table["assessor"]) == {"bob"}
