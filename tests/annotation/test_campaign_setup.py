"""Setting a campaign up: the warm-up examples (unanimous ones, a clear fallback, or picked by hand),
hidden gold items, the class set, and the demo command."""

from collections import Counter
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from annotation.importers.records import UtteranceRecord, VoteRecord
from annotation.models import Campaign
from annotation.services.campaigns import CampaignSetupError, campaign_create
from annotation.services.corpora import corpus_import
from tests.factories import make_corpus, tone, write_wav

pytestmark = pytest.mark.django_db


def _corpus_with_votes(root: Path, spec: dict[str, list[tuple[str, ...]]], classes=("anger", "neutral", "sadness")):
    """spec: utterance name -> expert votes; the name's middle part is the label (``u_anger_3``)."""
    records = []
    for name, votes in spec.items():
        path = write_wav(root / f"{name}.wav", tone(0.05, seed=len(records)))
        records.append(
            UtteranceRecord(
                name=name,
                speaker="s1",
                session="s1",
                audio_path=path,
                label=name.split("_")[1],
                votes=[VoteRecord(rater=f"E{i}", categories=vote) for i, vote in enumerate(votes)],
            )
        )
    corpus_import(name="votes", format="manifest", source_path=root, classes=list(classes), records=records)
    from annotation.models import Corpus

    return Corpus.objects.get(name="votes")


UNANIMOUS = [("anger",), ("anger",), ("anger",)]


@pytest.fixture
def mixed(tmp_path: Path):
    """anger: 3 unanimous + 2 disputed; neutral: 1 unanimous, one 1-of-4 and one 1-of-3 dissenting,
    one without votes; sadness: 2 utterances only."""
    spec = {
        **{f"u_anger_{k}": UNANIMOUS for k in range(3)},
        "u_anger_d1": [("anger",), ("anger",), ("sadness",)],
        "u_anger_d2": [("anger",), ("neutral",)],
        "u_neutral_0": [("neutral",)] * 3,
        "u_neutral_q": [("neutral",), ("neutral",), ("neutral",), ("anger",)],  # 1 of 4 dissenting
        "u_neutral_t": [("neutral",), ("neutral",), ("sadness",)],  # 1 of 3
        "u_neutral_none": [],
        "u_sadness_0": [("sadness",)] * 2,
        "u_sadness_1": [("sadness",)] * 2,
    }
    return _corpus_with_votes(tmp_path / "votes", spec)


def _names(campaign, role):
    return sorted(campaign.items.filter(role=role).values_list("utterance__name", flat=True))


def test_warmup_takes_unanimous_utterances_and_says_where_it_fell_back(mixed):
    campaign = campaign_create(corpus=mixed, name="c", created_by=None, seed=7)
    warmup = _names(campaign, "warmup")
    by_class = Counter(name.split("_")[1] for name in warmup)
    # anger: 2 of its 3 unanimous ones; neutral: its unanimous one plus the least disputed (1 of 4);
    # sadness: only one, so that one stays in the scored pool.
    assert by_class == {"anger": 2, "neutral": 2, "sadness": 1}
    assert all(name in {"u_anger_0", "u_anger_1", "u_anger_2"} for name in warmup if "anger" in name)
    assert [n for n in warmup if "neutral" in n] == ["u_neutral_0", "u_neutral_q"]
    notes = " | ".join(campaign.setup_notes)
    assert "class neutral: only 1 utterance(s) on which all experts agree" in notes
    assert "1 of 4 experts dissenting" in notes
    assert "class sadness: only 2 utterances, so 1 warm-up example(s) instead of 2" in notes
    main = _names(campaign, "main")
    assert set(main).isdisjoint(warmup) and len(main) + len(warmup) == 11
    assert Counter(name.split("_")[1] for name in main)["sadness"] == 1


def test_the_same_seed_gives_the_same_split(mixed):
    first = campaign_create(corpus=mixed, name="a", created_by=None, seed=11)
    second = campaign_create(corpus=mixed, name="b", created_by=None, seed=11)

    def warmup_order(campaign):
        return list(campaign.items.filter(role="warmup").order_by("position").values_list("utterance__name", flat=True))

    assert warmup_order(first) == warmup_order(second)


def test_warmup_picked_by_hand(mixed):
    campaign = campaign_create(
        corpus=mixed, name="c", created_by=None, warmup_utterances=["u_anger_d1", "u_neutral_none"]
    )
    assert _names(campaign, "warmup") == ["u_anger_d1", "u_neutral_none"]
    assert "2 warm-up utterances picked by hand" in campaign.setup_notes


@pytest.mark.parametrize(
    "names, message",
    [
        (["nope"], "not found"),
        (["u_sadness_0", "u_sadness_1"], "every utterance of class sadness"),
        (["u_anger_0", "u_anger_0"], "named twice"),
    ],
)
def test_bad_hand_picked_warmup_is_refused(mixed, names, message):
    with pytest.raises(CampaignSetupError, match=message):
        campaign_create(corpus=mixed, name="c", created_by=None, warmup_utterances=names)
    assert not Campaign.objects.exists()


def test_no_warmup_at_all(mixed):
    campaign = campaign_create(corpus=mixed, name="c", created_by=None, warmup_per_class=0)
    assert not campaign.items.filter(role="warmup").exists()
    assert campaign.items.count() == 11


def test_a_class_subset_in_button_order(mixed):
    campaign = campaign_create(corpus=mixed, name="c", created_by=None, classes=["neutral", "anger"])
    assert campaign.classes == ["neutral", "anger"]
    labels = set(campaign.items.values_list("utterance__label", flat=True))
    assert labels == {"neutral", "anger"}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"classes": ["anger"]}, "at least two classes"),
        ({"classes": ["anger", "joy"]}, "joy not in the class set"),
        ({"classes": ["anger", "anger"]}, "listed twice"),
        ({"name": "  "}, "needs a name"),
        ({"judgments_per_item": 0}, "judgments_per_item"),
        ({"gold_share": 0.7}, "gold_share"),
        ({"assessors": ["ghost"]}, "no active user named ghost"),
    ],
)
def test_bad_settings_are_refused_with_nothing_written(mixed, kwargs, message):
    with pytest.raises(CampaignSetupError, match=message):
        campaign_create(corpus=mixed, created_by=None, **{"name": "c", **kwargs})
    assert not Campaign.objects.exists()


def test_a_class_without_utterances_is_refused(tmp_path):
    corpus = make_corpus(tmp_path / "t", name="t", classes=("anger", "neutral"), speakers=("s1",), per_speaker_class=2)
    corpus.classes = ["anger", "neutral", "fear"]
    corpus.save()
    with pytest.raises(CampaignSetupError, match="no utterance labelled fear"):
        campaign_create(corpus=corpus, name="c", created_by=None)


def test_gold_items_are_unanimous_spread_over_classes_and_out_of_the_pool(tmp_path):
    corpus = make_corpus(tmp_path / "t", name="t", classes=("anger", "neutral"), seconds=0.05)  # 8 per class
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, gold_share=0.3)
    roles = Counter(campaign.items.values_list("role", flat=True))
    assert roles == {"warmup": 4, "gold": 4, "main": 8}  # ceil(0.3 * 12) = 4
    gold_labels = Counter(campaign.items.filter(role="gold").values_list("utterance__label", flat=True))
    assert gold_labels == {"anger": 2, "neutral": 2}
    assert any("hidden gold items" in note for note in campaign.setup_notes)


def test_gold_share_asks_for_more_than_the_unanimous_utterances(mixed):
    campaign = campaign_create(corpus=mixed, name="c", created_by=None, gold_share=0.5, seed=3)
    gold = _names(campaign, "gold")
    # ceil(0.5 * 6) = 3 wanted. Left after the warm-up: 1 unanimous anger; neutral's only unanimous
    # one is a warm-up example; the last sadness one must stay in the scored pool.
    assert len(gold) == 1 and gold[0] in {"u_anger_0", "u_anger_1", "u_anger_2"}
    assert gold[0] not in _names(campaign, "warmup")
    assert any("only 1 unanimous utterances could be spared" in note for note in campaign.setup_notes)


def test_ensure_demo_campaign_creates_once(tmp_path, capsys):
    make_corpus(tmp_path / "d", name="demo", seconds=0.05)
    call_command("ensure_demo_campaign")
    out = capsys.readouterr().out
    assert "Created campaign 'Demo relabelling' on demo" in out
    assert "4 warm-up, 0 gold, 12 scored items; 2 judgments per utterance; feedback on; open to every assessor" in out
    campaign = Campaign.objects.get()
    assert campaign.is_open and campaign.feedback and campaign.judgments_per_item == 2
    assert not campaign.assessors.exists()
    call_command("ensure_demo_campaign", "--corpus", "demo")
    assert "exists already" in capsys.readouterr().out
    assert Campaign.objects.count() == 1


def test_ensure_demo_campaign_on_any_corpus_and_a_clear_error_without_one(tmp_path, capsys):
    with pytest.raises(CommandError, match="no corpus named 'demo'"):
        call_command("ensure_demo_campaign")
    make_corpus(tmp_path / "x", name="other", seconds=0.05)
    call_command("ensure_demo_campaign", "--corpus", "other")
    assert Campaign.objects.get().corpus.name == "other"
