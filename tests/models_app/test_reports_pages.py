"""The comparison report pages, CSV and SVG downloads and the utterance explorer, on the hand-built
data of test_reports_api (see its docstring for every number)."""

import csv
import html
import io
import xml.etree.ElementTree as ElementTree

import pytest
from django.core.cache import cache

from annotation.models import Campaign
from models_app.selectors.reports import comparison_report
from models_app.ser.analysis import csv_tables
from models_app.services.reports import stored_report_compute_now
from tests.factories import TWO_CLASSES as CLASSES
from tests.factories import build_report_data, make_corpus


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def data(db, tmp_path):
    """The hand-built data with its job-and-campaign report stored, as a worker would have left it."""
    data = build_report_data(tmp_path / "tiny")
    stored_report_compute_now(job=data["job"], campaign=data["campaign"])
    return data


def _query(data, job=True, campaign=True) -> str:
    parts = []
    if job:
        parts.append(f"job={data['job'].pk}")
    if campaign:
        parts.append(f"campaign={data['campaign'].pk}")
    return "&".join(parts)


def test_the_chooser_lists_jobs_and_campaigns_per_corpus(client, researcher, data):
    client.force_login(researcher)
    page = client.get("/reports/").content.decode()
    assert "Corpus tiny" in page
    assert f'<option value="{data["job"].pk}">' in page
    assert "relabel (9 answers, warm-up included; 8 scored)" in page  # 8 main answers and alice's warm-up answer


def test_the_nav_shows_reports_to_researchers_only(client, researcher, assessor, data):
    client.force_login(researcher)
    assert 'href="/reports/"' in client.get("/jobs/").content.decode()
    client.force_login(assessor)
    assert 'href="/reports/"' not in client.get("/").content.decode()


def test_the_report_page_shows_every_section_with_real_numbers(client, admin_user, data):
    client.force_login(admin_user)
    response = client.get(f"/reports/comparison/?{_query(data)}")
    assert response.status_code == 200
    page = response.content.decode()
    for section in ("overview", "table1", "confusion", "disagreement", "residual", "human", "explorer"):
        assert f'id="{section}"' in page
    # Table 1 at a glance: framewise 5/8, CTC 7/8, humans 5/8 overall and 75% mean class accuracy.
    assert "<strong>62.5%</strong>" in page and "<strong>87.5%</strong>" in page and "<strong>75.0%</strong>" in page
    assert page.count("<svg") >= 8  # every figure inline
    for table in ("table1", "confusion", "assessors", "human_agreement"):
        assert f"/reports/comparison/csv/{table}/?{_query(data)}" in html.unescape(page)
    assert "What is missing" not in page


def test_a_job_only_page_says_what_is_missing(client, researcher, data):
    client.force_login(researcher)
    stored_report_compute_now(job=data["job"], campaign=None)
    page = client.get(f"/reports/comparison/?{_query(data, campaign=False)}").content.decode()
    assert "What is missing" in page and "no campaign selected" in page


def test_pages_refuse_assessors_and_send_anonymous_users_to_sign_in(client, assessor, data):
    assert client.get(f"/reports/comparison/?{_query(data)}").status_code == 302
    client.force_login(assessor)
    for url in ("/reports/", f"/reports/comparison/?{_query(data)}", f"/reports/comparison/csv/table1/?{_query(data)}"):
        assert client.get(url).status_code == 403


def test_bad_choices_get_a_400_page_with_the_reason(client, researcher, data, tmp_path):
    client.force_login(researcher)
    assert client.get("/reports/comparison/").status_code == 400
    other = make_corpus(tmp_path / "other", name="other", speakers=("s9",), per_speaker_class=1)
    campaign = Campaign.objects.create(corpus=other, name="elsewhere", classes=CLASSES)
    response = client.get(f"/reports/comparison/?job={data['job'].pk}&campaign={campaign.pk}")
    assert response.status_code == 400
    assert "a report compares answers on the same utterances" in response.content.decode()
    assert client.get("/reports/comparison/?job=999999").status_code == 404


def test_every_table_downloads_as_csv_with_its_header(client, researcher, data):
    client.force_login(researcher)
    report = comparison_report(job=data["job"], campaign=data["campaign"])
    prefix = f"tiny_job{data['job'].pk}_campaign{data['campaign'].pk}"
    for filename, write in csv_tables.TABLES.items():
        table = filename.removesuffix(".csv")
        response = client.get(f"/reports/comparison/csv/{table}/?{_query(data)}")
        assert response.status_code == 200, table
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == f'attachment; filename="{prefix}_{table}.csv"'
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert rows[0] == next(csv.reader(io.StringIO(write(report)))), table  # this table's own header
        assert len({len(row) for row in rows}) == 1, table  # a rectangle a spreadsheet opens
    assert next(
        csv.reader(io.StringIO(client.get(f"/reports/comparison/csv/table1/?{_query(data)}").content.decode()))
    )[:3] == ["row", "label", "overall_accuracy"]


def test_csv_numbers_match_the_hand_computed_ones(client, researcher, data):
    client.force_login(researcher)
    text = client.get(f"/reports/comparison/csv/table1/?{_query(data)}").content.decode()
    rows = {row["row"]: row for row in csv.DictReader(io.StringIO(text))}
    assert float(rows["dummy"]["overall_accuracy"]) == pytest.approx(0.5)
    assert float(rows["human"]["mean_class_accuracy"]) == pytest.approx(0.75)
    assessors = list(
        csv.DictReader(io.StringIO(client.get(f"/reports/comparison/csv/assessors/?{_query(data)}").content.decode()))
    )
    assert {(a["assessor"], float(a["overall_accuracy"])) for a in assessors} == {("alice", 1.0), ("bob", 0.25)}
    assert client.get(f"/reports/comparison/csv/nonsense/?{_query(data)}").status_code == 404


def test_figures_download_as_well_formed_svg(client, researcher, data):
    client.force_login(researcher)
    for figure in ("class_distribution", "table1", "confusion", "answer_index"):
        response = client.get(f"/reports/comparison/svg/{figure}/?{_query(data)}")
        assert response.status_code == 200, figure
        assert response["Content-Type"] == "image/svg+xml"
        assert ElementTree.fromstring(response.content).tag.endswith("svg")


def test_a_figure_the_data_does_not_allow_is_404(client, researcher, data):
    client.force_login(researcher)
    # Without a campaign there is no answer-index curve.
    stored_report_compute_now(job=data["job"], campaign=None)
    assert client.get(f"/reports/comparison/svg/answer_index/?{_query(data, campaign=False)}").status_code == 404


def test_the_utterance_explorer_shows_frames_decoding_votes_and_answers(client, researcher, data):
    client.force_login(researcher)
    utterance = data["utterances"]["s1_anger_0"]
    response = client.get(f"/reports/utterance/{utterance.public_id}/?{_query(data)}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page
    assert "<strong>anger</strong> (frames 1–2)" in page  # CTC's decoded span
    assert page.count("<td>E") == 3  # three expert votes
    assert "<td>alice</td><td>anger ✓</td>" in page and "<td>bob</td><td>neutral ✗</td>" in page
    assert f"/reports/utterance/{utterance.public_id}/audio/" in page
    assert f"/reports/comparison/?{_query(data)}" in html.unescape(page)
    empty = data["utterances"]["s2_neutral_1"]
    page = client.get(f"/reports/utterance/{empty.public_id}/?{_query(data)}").content.decode()
    assert "empty (no emotion decoded)" in page
    assert "<td>warmup</td>" in page  # alice's warm-up answer is shown, marked as such


def test_researchers_hear_the_audio_and_assessors_do_not(client, researcher, assessor, data):
    utterance = data["utterances"]["s1_anger_0"]
    client.force_login(researcher)
    response = client.get(f"/reports/utterance/{utterance.public_id}/audio/", HTTP_RANGE="bytes=0-43")
    assert response.status_code == 206
    assert b"".join(response.streaming_content)[:4] == b"RIFF"
    assert utterance.name not in response["Content-Disposition"]
    client.force_login(assessor)
    assert client.get(f"/reports/utterance/{utterance.public_id}/audio/").status_code == 403


def test_the_report_reads_the_database_in_a_fixed_number_of_queries(data, django_assert_max_num_queries):
    # Utterances, votes, predictions, judgments: no query per utterance.
    with django_assert_max_num_queries(4):
        comparison_report(job=data["job"], campaign=data["campaign"])


def test_the_explorer_refuses_an_utterance_of_another_corpus_and_works_without_a_job(
    client, researcher, data, tmp_path
):
    client.force_login(researcher)
    other = make_corpus(tmp_path / "other", name="other", speakers=("s9",), per_speaker_class=1)
    stranger = other.utterances.first()
    response = client.get(f"/reports/utterance/{stranger.public_id}/?{_query(data)}")
    assert response.status_code == 400 and b"not in corpus 'tiny'" in response.content
    utterance = data["utterances"]["s1_anger_1"]
    page = client.get(f"/reports/utterance/{utterance.public_id}/?{_query(data, job=False)}").content.decode()
    assert "No per-frame probabilities stored for this utterance (no training job selected)" in page
    assert "<td>bob</td><td>neutral ✗</td>" in page


def test_pages_and_downloads_serve_the_stored_version_without_computing(client, researcher, data, monkeypatch):
    client.force_login(researcher)
    from models_app.ser.analysis import plots
    from models_app.services import reports as report_services

    def must_not_compute(*args, **kwargs):
        raise AssertionError("a page computed what the worker stored")

    monkeypatch.setattr(plots, "comparison_figures", must_not_compute)
    monkeypatch.setattr(report_services, "comparison_report", must_not_compute)
    assert client.get(f"/reports/comparison/?{_query(data)}").status_code == 200
    assert client.get(f"/reports/comparison/svg/confusion_ctc/?{_query(data)}").status_code == 200
    assert client.get(f"/reports/comparison/csv/table1/?{_query(data)}").status_code == 200


def test_the_page_shows_raw_and_holm_p_values_and_reads_table1_in_a_line(client, researcher, data):
    client.force_login(researcher)
    page = client.get(f"/reports/comparison/?{_query(data)}").content.decode()
    report = comparison_report(job=data["job"], campaign=data["campaign"])
    assert "p (raw)" in page and "p (Holm-corrected)" in page
    for pair in report["mcnemar"]["pairs"]:
        assert pair["p_value_holm"] >= pair["p_value"]
        assert f"<td>{pair['p_value']:.3f}</td>" in page or f"<td>{pair['p_value']:.1e}</td>" in page
    assert 'id="table1-reading"' in page
    assert "after Holm&#x27;s correction" in page or "after Holm's correction" in page


def test_the_explorer_pages_searches_and_filters_the_stored_utterances(client, researcher, assessor, data):
    client.force_login(researcher)
    base = f"/reports/explorer/?{_query(data)}"
    page = client.get(base).content.decode()
    # The campaign's four main items, most disputed first: s1_anger_0 and s1_anger_1 have bob's
    # wrong answer and framewise's wrong prediction (2 wrong each); s2_anger_0 and s1_neutral_0 one.
    assert "Showing 1–4 of 4 utterances" in page
    assert page.index("s1_anger_0") < page.index("s1_anger_1") < page.index("s1_neutral_0")
    page = client.get(base + "&q=NEUTRAL").content.decode()
    assert "Showing 1–1 of 1 utterance" in page and "s1_neutral_0" in page and "s1_anger_0" not in page
    page = client.get(base + "&method=framewise&method_correct=incorrect").content.decode()
    assert "Showing 1–2 of 2" in page and "s2_anger_0" not in page
    page = client.get(base + "&label=neutral&human=neutral").content.decode()
    assert "Showing 1–1 of 1" in page
    assert "No utterance matches" in client.get(base + "&both_wrong=1").content.decode()
    assert "Showing 1–4 of 4" in client.get(base + "&dissent=0").content.decode()
    assert client.get(base + "&sort=random").status_code == 400
    assert client.get(base + "&label=joy").status_code == 400
    assert client.get(base + "&page=x").status_code == 400
    client.force_login(assessor)
    assert client.get(base).status_code == 403


def test_the_utterance_plot_places_kept_frames_at_their_own_times(client, researcher, data, media_root):
    # The paper's features drop the first and last frame: a 1 s tone has 9 frames (200 ms windows
    # every 100 ms) of which 7 are kept, numbers 1-7. Stored probabilities have one row per kept frame.
    from models_app.models import UtterancePrediction
    from models_app.selectors.reports import utterance_explorer
    from models_app.services.features import feature_set_ensure

    feature_set = feature_set_ensure(corpus=data["corpus"], preset="paper")
    job = data["job"]
    job.feature_set = feature_set
    job.save(update_fields=["feature_set"])
    utterance = data["utterances"]["s1_anger_0"]
    UtterancePrediction.objects.filter(job=job, utterance=utterance, row="framewise").update(
        frame_probabilities=[[0.8, 0.2]] * 7
    )
    UtterancePrediction.objects.filter(job=job, utterance=utterance, row="ctc").update(
        frame_probabilities=[[0.1, 0.1, 0.8]] * 7
    )
    explorer = utterance_explorer(utterance=utterance, job=job, campaign=data["campaign"])
    assert explorer.frame_index == [1, 2, 3, 4, 5, 6, 7] and explorer.window_s == pytest.approx(0.2)
    client.force_login(researcher)
    assert client.get(f"/reports/utterance/{utterance.public_id}/?{_query(data)}").status_code == 200
    # Another utterance whose stored frames do not match the feature set's: every frame assumed kept.
    other = utterance_explorer(utterance=data["utterances"]["s1_anger_1"], job=job, campaign=data["campaign"])
    assert other.frame_index is None
