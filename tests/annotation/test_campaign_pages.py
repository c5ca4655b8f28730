"""The campaign pages: who sees what, the create form, open/close, the end page and the admin."""

from pathlib import Path

import pytest
from django.test import Client

from annotation.models import Campaign, Judgment
from annotation.services.campaigns import campaign_create
from annotation.services.judgments import assignment_next, judgment_record
from tests.factories import confirm_instructions, make_corpus, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(tmp_path: Path):
    return make_corpus(tmp_path / "tiny", name="tiny", seconds=0.05)


@pytest.fixture
def superuser(admin_user):
    # The demo's admin account is a superuser; plain staff have no model permissions in the admin.
    admin_user.is_superuser = True
    admin_user.save()
    return admin_user


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _answer_n(campaign, assessor, n, label="anger"):
    for _ in range(n):
        item = assignment_next(campaign=campaign, assessor=assessor).item
        judgment_record(
            campaign=campaign,
            assessor=assessor,
            item_public_id=item.public_id,
            answer=label,
            response_ms=1500,
            replays=0,
        )


def test_assessors_see_their_campaigns_with_progress_on_home_and_list(corpus, assessor):
    mine = campaign_create(corpus=corpus, name="For everyone", created_by=None)
    campaign_create(
        corpus=corpus,
        name="Only bob",
        created_by=None,
        assessors=[make_user("assessor", username="bob").username],
    )
    _answer_n(mine, assessor, 5)
    client = _signed_in(assessor)
    for url in ("/", "/campaigns/"):
        page = client.get(url).content.decode()
        assert "For everyone" in page and "5 of 16 done" in page
        assert "Only bob" not in page
        assert f"/campaigns/{mine.pk}/label/" in page
        assert "New campaign" not in page and "Corpora" not in page
    assert ">Campaigns</a>" in client.get("/").content.decode()


def test_researchers_see_every_campaign_with_coverage(corpus, researcher, assessor):
    campaign = campaign_create(corpus=corpus, name="Round 1", created_by=None, warmup_per_class=0)
    _answer_n(campaign, assessor, 3)
    page = _signed_in(researcher).get("/campaigns/").content.decode()
    assert "Round 1" in page and "New campaign" in page
    assert '<td class="num">16</td>' in page and '<td class="num">3</td>' in page
    detail = _signed_in(researcher).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "0 of 16 utterances have 2 judgments" in detail
    assert '<th>0</th><td class="num">13</td>' in detail and '<th>1</th><td class="num">3</td>' in detail
    assert assessor.username in detail


@pytest.mark.parametrize("url", ["/campaigns/new/", "/campaigns/{pk}/"])
def test_assessors_cannot_reach_researcher_pages(corpus, assessor, url):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    assert _signed_in(assessor).get(url.format(pk=campaign.pk)).status_code == 403
    assert _signed_in(assessor).post(f"/campaigns/{campaign.pk}/open/", {"is_open": "0"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.is_open


def test_create_form(corpus, researcher):
    make_user("assessor", username="alice")
    client = _signed_in(researcher)
    page = client.get("/campaigns/new/").content.decode()
    assert 'name="csrfmiddlewaretoken"' in page and 'value="alice"' in page
    response = client.post(
        "/campaigns/new/",
        {
            "corpus": "tiny",
            "name": "Form made",
            "classes": "neutral, anger",
            "judgments_per_item": 3,
            "feedback": "on",
            "warmup_per_class": 1,
            "assessors": ["alice"],
            "items_per_assessor": 5,
            "replay_limit": 2,
            "gold_share": 0.1,
            "instructions": "Listen **closely**.",
            "class_definitions": "anger: a raised, tense voice\nneutral: no emotion in particular",
            "allow_cant_tell": "on",
            "min_listen_fraction": "0.5",
            "break_every": "0",
        },
    )
    campaign = Campaign.objects.get(name="Form made")
    assert campaign.instructions == "Listen **closely**." and campaign.allow_cant_tell
    assert campaign.class_definitions == {"neutral": "no emotion in particular", "anger": "a raised, tense voice"}
    assert campaign.min_listen_fraction == 0.5 and campaign.break_every == 0
    assert response.status_code == 302 and response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.classes == ["neutral", "anger"] and campaign.judgments_per_item == 3
    assert campaign.feedback and campaign.items_per_assessor == 5 and campaign.replay_limit == 2
    assert campaign.gold_share == 0.1 and campaign.created_by == researcher
    assert [u.username for u in campaign.assessors.all()] == ["alice"]
    assert campaign.items.filter(role="warmup").count() == 2


def test_create_form_shows_errors_and_writes_nothing(corpus, researcher):
    client = _signed_in(researcher)
    response = client.post(
        "/campaigns/new/",
        {
            "corpus": "tiny",
            "name": "Bad",
            "classes": "anger, joy",
            "judgments_per_item": 2,
            "warmup_per_class": 2,
            "gold_share": 0,
        },
    )
    assert response.status_code == 200
    assert "joy not in the class set of tiny" in response.content.decode()
    response = client.post("/campaigns/new/", {"corpus": "tiny", "name": "", "judgments_per_item": 0, "gold_share": 0})
    assert "This field is required." in response.content.decode()
    assert not Campaign.objects.exists()


def test_close_and_reopen(corpus, researcher, assessor):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    confirm_instructions(campaign, assessor)
    client = _signed_in(researcher)
    assert client.get(f"/campaigns/{campaign.pk}/open/").status_code == 405
    client.post(f"/campaigns/{campaign.pk}/open/", {"is_open": "0"})
    campaign.refresh_from_db()
    assert not campaign.is_open
    page = _signed_in(assessor).get(f"/campaigns/{campaign.pk}/label/").content.decode()
    assert "This campaign is closed" in page and "trial.js" not in page
    client.post(f"/campaigns/{campaign.pk}/open/", {"is_open": "1"})
    campaign.refresh_from_db()
    assert campaign.is_open
    assert "trial.js" in _signed_in(assessor).get(f"/campaigns/{campaign.pk}/label/").content.decode()


def test_trial_page_access(corpus, assessor, researcher):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    anonymous = Client().get(f"/campaigns/{campaign.pk}/label/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    assert _signed_in(make_user("none")).get(f"/campaigns/{campaign.pk}/label/").status_code == 404
    assert _signed_in(researcher).get(f"/campaigns/{campaign.pk}/label/").status_code == 403  # not an assessor
    confirm_instructions(campaign, assessor)
    page = _signed_in(assessor).get(f"/campaigns/{campaign.pk}/label/").content.decode()
    assert "<kbd>1</kbd><span>anger</span>" in page and "<kbd>2</kbd><span>neutral</span>" in page
    assert 'id="trial-config"' in page and 'name="csrf-token"' in page


def test_pages_of_a_campaign_you_are_not_part_of_answer_404(corpus, researcher):
    """As for a campaign that does not exist: the labelling page, the end page and the audio."""
    alice = make_user("assessor", username="alice")
    campaign = campaign_create(corpus=corpus, name="named", created_by=None, assessors=["alice"])
    item = assignment_next(campaign=campaign, assessor=alice).item
    for user in (make_user("assessor"), make_user("none")):
        client = _signed_in(user)
        for path in ("label/", "finished/", f"audio/{item.public_id}/"):
            assert client.get(f"/campaigns/{campaign.pk}/{path}").status_code == 404, (user.username, path)
            assert client.get(f"/campaigns/999999/{path}").status_code == 404
    confirm_instructions(campaign, alice)
    assert _signed_in(alice).get(f"/campaigns/{campaign.pk}/label/").status_code == 200
    researcher_view = _signed_in(researcher).get(f"/campaigns/{campaign.pk}/finished/")
    assert researcher_view.status_code == 403  # they see the campaign, but are not its assessor


def test_the_end_page_tells_nothing_about_gold(corpus, assessor):
    """Gold items pass as counted answers: the counts add up to what the assessor did."""
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, gold_share=0.25)
    _answer_n(campaign, assessor, 16)
    assert Judgment.objects.gold().filter(assessor=assessor).count() == 3
    page = _signed_in(assessor).get(f"/campaigns/{campaign.pk}/finished/").content.decode()
    assert "4 warm-up answers" in page and "12 counted answers" in page
    assert "gold" not in page.lower()


def test_end_page_counts_without_warmup(corpus, assessor):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, items_per_assessor=2)
    _answer_n(campaign, assessor, 6, label="anger")
    page = _signed_in(assessor).get(f"/campaigns/{campaign.pk}/finished/").content.decode()
    assert "you are done" in page
    assert "4 warm-up answers (not counted)" in page and "2 counted answers" in page
    correct = Judgment.objects.scored().filter(assessor=assessor, is_correct=True).count()
    assert f"{correct} of 2 matched the experts" in page


def test_admin_lists_judgments_with_filters(corpus, superuser, assessor):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    other = campaign_create(corpus=corpus, name="other", created_by=None)  # a filter with one choice is hidden
    _answer_n(campaign, assessor, 2)
    _answer_n(other, make_user("assessor"), 1)
    client = _signed_in(superuser)
    page = client.get(
        f"/admin/annotation/judgment/?campaign__id__exact={campaign.pk}&assessor__id__exact={assessor.pk}"
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "2 judgments" in text and "By campaign" in text and "By assessor" in text
    assert client.get("/admin/annotation/judgment/add/").status_code == 403
    assert client.get(f"/admin/annotation/campaign/{campaign.pk}/change/").status_code == 200
    assert client.get(f"/admin/annotation/campaignitem/?campaign__id__exact={campaign.pk}").status_code == 200
    assert client.get("/admin/annotation/assignment/").status_code == 200


def test_admin_creates_a_campaign_with_its_items(corpus, superuser):
    client = _signed_in(superuser)
    response = client.post(
        "/admin/annotation/campaign/add/",
        {
            "corpus": corpus.pk,
            "name": "From admin",
            "classes": "[]",
            "judgments_per_item": 2,
            "warmup_per_class": 2,
            "feedback": "on",
            "gold_share": 0,
            "is_open": "on",
            "class_definitions": "{}",
            "min_listen_fraction": 1.0,
            "break_every": 50,
            "items-TOTAL_FORMS": 0,
            "items-INITIAL_FORMS": 0,
            "items-MIN_NUM_FORMS": 0,
            "items-MAX_NUM_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign = Campaign.objects.get(name="From admin")
    assert campaign.classes == ["anger", "neutral"] and campaign.created_by == superuser
    assert campaign.items.filter(role="warmup").count() == 4 and campaign.items.filter(role="main").count() == 12
    bad = client.post(
        "/admin/annotation/campaign/add/",
        {
            "corpus": corpus.pk,
            "name": "Bad",
            "classes": '["anger", "joy"]',
            "judgments_per_item": 2,
            "warmup_per_class": 2,
            "gold_share": 0,
            "items-TOTAL_FORMS": 0,
            "items-INITIAL_FORMS": 0,
            "items-MIN_NUM_FORMS": 0,
            "items-MAX_NUM_FORMS": 0,
        },
    )
    assert bad.status_code == 200 and "joy not in the class set" in bad.content.decode()
    assert not Campaign.objects.filter(name="Bad").exists()


def test_a_campaign_with_answers_cannot_be_deleted(corpus, assessor):
    from django.db.models import ProtectedError

    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    unused = campaign_create(corpus=corpus, name="unused", created_by=None)
    _answer_n(campaign, assessor, 1)
    with pytest.raises(ProtectedError):
        campaign.delete()
    assert Judgment.objects.count() == 1
    unused.delete()  # nothing answered yet: it goes, with its items
    assert not Campaign.objects.filter(name="unused").exists()
