"""Issue 12, item 6: the report page and every SVG download render for campaigns of any size.

With 1, 2 or 12 answers that are all right or all wrong, a proportion of 0 or 1 makes the
interval bounds meet the estimate (Wilson's bound lands a rounding error inside it, a bootstrap
percentile exactly on it), and matplotlib refused the "negative" error bar with a 500.
"""

import html
import re
import xml.etree.ElementTree as ElementTree

import pytest
from django.core.cache import cache

from annotation.models import Campaign, CampaignItem, Judgment
from models_app.services.reports import stored_report_compute_now
from tests.factories import TWO_CLASSES as CLASSES
from tests.factories import build_report_data, make_user


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _small_campaign(data: dict, n_answers: int, all_right: bool) -> Campaign:
    """A campaign on the report corpus whose one assessor gave ``n_answers`` main answers."""
    utterances = sorted(data["utterances"].values(), key=lambda u: u.name)
    campaign = Campaign.objects.create(corpus=data["corpus"], name=f"small-{n_answers}-{all_right}", classes=CLASSES)
    assessor = make_user("assessor")
    for position in range(n_answers):
        # 12 answers on 8 utterances: a second assessor takes over after the eighth.
        if position == len(utterances):
            assessor = make_user("assessor")
        utterance = utterances[position % len(utterances)]
        item, _ = CampaignItem.objects.get_or_create(campaign=campaign, utterance=utterance, role="main")
        answer = utterance.label if all_right else next(c for c in CLASSES if c != utterance.label)
        Judgment.objects.create(
            campaign=campaign, item=item, utterance=utterance, assessor=assessor, answer=answer, phase="main",
            expert_label=utterance.label, is_correct=all_right, response_ms=1200, position=position + 1,
        )  # fmt: skip
    return campaign


@pytest.mark.parametrize("n_answers", [1, 2, 12])
@pytest.mark.parametrize("all_right", [True, False], ids=["all-right", "all-wrong"])
def test_the_report_page_and_every_svg_render_for_small_campaigns(client, researcher, tmp_path, n_answers, all_right):
    data = build_report_data(tmp_path / "tiny")
    campaign = _small_campaign(data, n_answers, all_right)
    client.force_login(researcher)
    for job, query in (
        (None, f"campaign={campaign.pk}"),
        (data["job"], f"job={data['job'].pk}&campaign={campaign.pk}"),
    ):
        stored_report_compute_now(job=job, campaign=campaign)
        response = client.get(f"/reports/comparison/?{query}")
        assert response.status_code == 200, (query, response.content[:2000])
        page = html.unescape(response.content.decode())
        figures = set(re.findall(r"/reports/comparison/svg/([a-z0-9_]+)/", page))
        assert {"table1", "answer_index"} <= figures, figures
        for figure in figures:
            svg = client.get(f"/reports/comparison/svg/{figure}/?{query}")
            assert svg.status_code == 200, (query, figure)
            assert ElementTree.fromstring(svg.content).tag.endswith("svg")
        table1 = client.get(f"/api/reports/comparison/?{query}").json()["table1"]
        assert table1["human"]["overall_accuracy"] == (1.0 if all_right else 0.0)
