"""Setting up relabelling campaigns: the class set, the warm-up examples, the hidden gold items and
the scored pool. The one writer of Campaign and CampaignItem rows.

Paper, section 4.6: "a small fraction of the utterances (2 from each emotion, 8 in total) was
excluded from the main dataset. These utterances were given to the assessors prior to the main
experiment as a kind of training examples ... Answers at these preliminary stage were not included
in the final statistics. Finally, each utterance was assessed by at least 2 assessors."
"""

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from annotation.models import CAMPAIGN_DEFAULTS, CANT_TELL, Campaign, CampaignItem, Corpus, Utterance
from annotation.selectors.campaigns import item_shuffle_key


class CampaignSetupError(Exception):
    """The campaign cannot be created as asked; nothing was written.

    ``field`` names the setting at fault (for forms and API errors), or is None.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass
class ItemPlan:
    """Which utterances play which role, and what had to be decided along the way."""

    warmup: list[Utterance] = field(default_factory=list)  # in the order every assessor hears them
    gold: list[Utterance] = field(default_factory=list)
    main: list[Utterance] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _is_unanimous(utterance: Utterance) -> bool:
    return utterance.n_dissenting == 0 and utterance.n_raters >= CAMPAIGN_DEFAULTS.unanimous_min_raters


def _disagreement(utterance: Utterance) -> float:
    """Share of expert raters who did not vote for the label; utterances without votes come last."""
    if not utterance.n_raters or utterance.n_dissenting is None:
        return math.inf
    return utterance.n_dissenting / utterance.n_raters


def _pick_warmup_automatically(
    by_class: dict[str, list[Utterance]], per_class: int, rng: random.Random, notes: list[str]
) -> list[Utterance]:
    chosen: list[Utterance] = []
    for label, utterances in by_class.items():
        # Keep at least one utterance of every class in the scored pool.
        wanted = min(per_class, max(0, len(utterances) - 1))
        if wanted < per_class:
            notes.append(
                f"class {label}: only {len(utterances)} utterances, so {wanted} warm-up example(s) "
                f"instead of {per_class} (at least one stays in the scored pool)"
            )
        unanimous = [u for u in utterances if _is_unanimous(u)]
        picked = rng.sample(unanimous, min(wanted, len(unanimous)))
        if len(picked) < wanted:
            rest = [u for u in utterances if u not in picked]
            rng.shuffle(rest)  # random among equally (dis)agreed ones; the sort below is stable
            rest.sort(key=_disagreement)
            fallback = rest[: wanted - len(picked)]
            picked += fallback
            described = ", ".join(
                f"{u.n_dissenting} of {u.n_raters} experts dissenting" if u.n_raters else "no expert votes"
                for u in fallback
            )
            notes.append(
                f"class {label}: only {len(unanimous)} utterance(s) on which all experts agree "
                f"(at least {CAMPAIGN_DEFAULTS.unanimous_min_raters} raters, none dissenting); "
                f"{len(fallback)} warm-up example(s) taken with the least disagreement ({described})"
            )
        chosen += picked
    return chosen


def _pick_gold(
    remaining_by_class: dict[str, list[Utterance]], gold_share: float, rng: random.Random, notes: list[str]
) -> list[Utterance]:
    """``ceil(gold_share * pool)`` unanimous utterances, taken from the classes in turn so that gold
    accuracy is not dominated by one class."""
    n_pool = sum(len(us) for us in remaining_by_class.values())
    wanted = math.ceil(gold_share * n_pool)
    candidates = {
        label: rng.sample(unanimous, len(unanimous))
        for label, utterances in remaining_by_class.items()
        if (unanimous := [u for u in utterances if _is_unanimous(u)])
    }
    chosen: list[Utterance] = []
    while len(chosen) < wanted and any(candidates.values()):
        for label in list(candidates):
            if candidates[label] and len(chosen) < wanted:
                # Never empty a class's scored pool for a gold item.
                if len(remaining_by_class[label]) - sum(1 for u in chosen if u.label == label) > 1:
                    chosen.append(candidates[label].pop())
                else:
                    candidates[label] = []
    if len(chosen) < wanted:
        notes.append(
            f"gold share {gold_share:g} asks for {wanted} gold items; only {len(chosen)} unanimous "
            "utterances could be spared from the scored pool"
        )
    if chosen:
        notes.append(
            f"{len(chosen)} hidden gold items (all unanimous) are left out of the scored pool, "
            "which is therefore a little harder than the corpus as a whole"
        )
    return chosen


def campaign_plan_items(
    *,
    corpus: Corpus,
    classes: Sequence[str],
    warmup_per_class: int,
    gold_share: float,
    seed: int,
    warmup_utterances: Sequence[str] | None = None,
) -> ItemPlan:
    """Split the corpus's utterances labelled with one of ``classes`` into warm-up, gold and main.

    Warm-up: ``warmup_per_class`` per class among utterances all experts agree on (fallback: the
    least disputed, with a note), or exactly the utterances named in ``warmup_utterances``.
    The same seed gives the same split.
    """
    rng = random.Random(seed)
    pool = list(Utterance.objects.filter(corpus=corpus, label__in=classes).order_by("id"))
    by_class: dict[str, list[Utterance]] = {label: [u for u in pool if u.label == label] for label in classes}
    empty = [label for label, us in by_class.items() if not us]
    if empty:
        raise CampaignSetupError(f"corpus {corpus.name} has no utterance labelled {', '.join(empty)}", field="classes")
    notes: list[str] = []

    if warmup_utterances:
        by_name = {u.name: u for u in pool}
        unknown = [name for name in warmup_utterances if name not in by_name]
        if unknown:
            raise CampaignSetupError(
                "warm-up utterances not found in the corpus with a label of the class set: " + ", ".join(unknown[:10]),
                field="warmup_utterances",
            )
        if len(set(warmup_utterances)) != len(warmup_utterances):
            raise CampaignSetupError("a warm-up utterance is named twice", field="warmup_utterances")
        warmup = [by_name[name] for name in warmup_utterances]
        for label, utterances in by_class.items():
            if all(u in warmup for u in utterances):
                raise CampaignSetupError(
                    f"the warm-up would take every utterance of class {label} out of the scored pool",
                    field="warmup_utterances",
                )
        notes.append(f"{len(warmup)} warm-up utterances picked by hand")
    else:
        warmup = _pick_warmup_automatically(by_class, warmup_per_class, rng, notes)
    rng.shuffle(warmup)  # the order must not follow the class order, or it would give answers away

    warmup_ids = {u.id for u in warmup}
    remaining_by_class = {label: [u for u in us if u.id not in warmup_ids] for label, us in by_class.items()}
    gold = _pick_gold(remaining_by_class, gold_share, rng, notes) if gold_share > 0 else []
    gold_ids = {u.id for u in gold}
    main = [u for u in pool if u.id not in warmup_ids and u.id not in gold_ids]
    return ItemPlan(warmup=warmup, gold=gold, main=main, notes=notes)


def _resolve_assessors(usernames: Sequence[str]) -> list[User]:
    users = list(User.objects.filter(username__in=usernames, is_active=True))
    missing = sorted(set(usernames) - {u.username for u in users})
    if missing:
        raise CampaignSetupError(f"no active user named {', '.join(missing)}", field="assessors")
    return users


def _validated_classes(corpus: Corpus, classes: Sequence[str] | None) -> list[str]:
    if not classes:
        classes = list(corpus.classes)
    classes = list(classes)
    if not classes:
        raise CampaignSetupError(f"corpus {corpus.name} has no class set", field="classes")
    unknown = [c for c in classes if c not in corpus.classes]
    if unknown:
        raise CampaignSetupError(
            f"{', '.join(unknown)} not in the class set of {corpus.name} ({', '.join(corpus.classes)})",
            field="classes",
        )
    if len(set(classes)) != len(classes):
        raise CampaignSetupError("a class is listed twice", field="classes")
    if len(classes) < 2:
        raise CampaignSetupError("a campaign needs at least two classes to choose from", field="classes")
    if CANT_TELL in classes:
        raise CampaignSetupError(f'{CANT_TELL!r} is the "can\'t tell" answer, not a class name', field="classes")
    return classes


# One definition is a sentence or a short paragraph; the whole set stays a page.
MAX_DEFINITION_CHARS = 1000


def _validated_definitions(classes: Sequence[str], definitions: dict | None) -> dict[str, str]:
    """{class: definition} for classes of the campaign only, non-empty definitions kept, in class order."""
    definitions = definitions or {}
    if not isinstance(definitions, dict):
        raise CampaignSetupError("class definitions must map a class to its definition", field="class_definitions")
    unknown = [name for name in definitions if name not in classes]
    if unknown:
        raise CampaignSetupError(
            f"definitions given for {', '.join(map(str, unknown))}, not a class of this campaign "
            f"({', '.join(classes)})",
            field="class_definitions",
        )
    cleaned = {}
    for name in classes:
        text = definitions.get(name)
        if text is None:
            continue
        if not isinstance(text, str):
            raise CampaignSetupError(f"the definition of {name} must be text", field="class_definitions")
        text = text.strip()
        if len(text) > MAX_DEFINITION_CHARS:
            raise CampaignSetupError(
                f"the definition of {name} is {len(text)} characters long; at most {MAX_DEFINITION_CHARS}",
                field="class_definitions",
            )
        if text:
            cleaned[name] = text
    return cleaned


def campaign_create(
    *,
    corpus: Corpus,
    name: str,
    created_by: User | None,
    classes: Sequence[str] | None = None,
    judgments_per_item: int = CAMPAIGN_DEFAULTS.judgments_per_item,
    feedback: bool = CAMPAIGN_DEFAULTS.feedback,
    items_per_assessor: int | None = None,
    replay_limit: int | None = None,
    gold_share: float = CAMPAIGN_DEFAULTS.gold_share,
    warmup_per_class: int = CAMPAIGN_DEFAULTS.warmup_per_class,
    warmup_utterances: Sequence[str] | None = None,
    assessors: Sequence[str] = (),
    is_open: bool = True,
    seed: int | None = None,
    exclude_seen_elsewhere: bool = CAMPAIGN_DEFAULTS.exclude_seen_elsewhere,
    instructions: str = "",
    class_definitions: dict[str, str] | None = None,
    allow_cant_tell: bool = CAMPAIGN_DEFAULTS.allow_cant_tell,
    min_listen_fraction: float = CAMPAIGN_DEFAULTS.min_listen_fraction,
    break_every: int = CAMPAIGN_DEFAULTS.break_every,
) -> Campaign:
    """Create a campaign with its warm-up, gold and main items, in one transaction.

    ``assessors`` (usernames) empty: open to every member of the assessor group.
    Raises CampaignSetupError (nothing written) for a bad setting.
    """
    name = (name or "").strip()
    if not name:
        raise CampaignSetupError("a campaign needs a name", field="name")
    campaign = Campaign(
        corpus=corpus,
        name=name,
        classes=_validated_classes(corpus, classes),
        judgments_per_item=judgments_per_item,
        feedback=feedback,
        items_per_assessor=items_per_assessor,
        replay_limit=replay_limit,
        gold_share=gold_share,
        warmup_per_class=warmup_per_class,
        is_open=is_open,
        exclude_seen_elsewhere=exclude_seen_elsewhere,
        instructions=(instructions or "").strip(),
        class_definitions=class_definitions or {},
        allow_cant_tell=allow_cant_tell,
        min_listen_fraction=min_listen_fraction,
        break_every=break_every,
        created_by=created_by,
    )
    if seed is not None:
        campaign.seed = seed
    named_assessors = _resolve_assessors(assessors) if assessors else []
    campaign_populate(campaign=campaign, warmup_utterances=warmup_utterances)
    if named_assessors:
        campaign.assessors.set(named_assessors)
    return campaign


def _check_settings(campaign: Campaign) -> None:
    try:
        campaign.full_clean(
            exclude=["corpus", "created_by", "classes", "setup_notes", "class_definitions"], validate_unique=False
        )
    except ValidationError as exc:
        field_name, messages = next(iter(exc.message_dict.items()))
        raise CampaignSetupError(f"{field_name}: {' '.join(messages)}", field=field_name) from None


def campaign_plan(*, campaign: Campaign, warmup_utterances: Sequence[str] | None = None) -> ItemPlan:
    """Check an unsaved campaign's settings and decide its item split, writing nothing.

    Fills in the default class set. Raises CampaignSetupError for a bad setting.
    """
    campaign.classes = _validated_classes(campaign.corpus, campaign.classes)
    campaign.class_definitions = _validated_definitions(campaign.classes, campaign.class_definitions)
    if len(campaign.instructions) > CAMPAIGN_DEFAULTS.max_instructions_chars:
        raise CampaignSetupError(
            f"the instructions are {len(campaign.instructions)} characters long; "
            f"at most {CAMPAIGN_DEFAULTS.max_instructions_chars}",
            field="instructions",
        )
    _check_settings(campaign)
    if Campaign.objects.filter(corpus=campaign.corpus, name=campaign.name).exists():
        raise CampaignSetupError(
            f"corpus {campaign.corpus.name} already has a campaign named {campaign.name!r}", field="name"
        )
    plan = campaign_plan_items(
        corpus=campaign.corpus,
        classes=campaign.classes,
        warmup_per_class=campaign.warmup_per_class,
        gold_share=campaign.gold_share,
        seed=campaign.seed,
        warmup_utterances=warmup_utterances,
    )
    if not plan.main:
        raise CampaignSetupError("no utterance is left for the scored pool")
    return plan


@transaction.atomic
def campaign_populate(*, campaign: Campaign, warmup_utterances: Sequence[str] | None = None) -> Campaign:
    """Save a new (unsaved) campaign and create its items. Used by campaign_create and by the
    Django admin, whose form builds the Campaign instance itself."""
    if campaign.pk is not None:
        raise CampaignSetupError("the campaign already has its items")
    plan = campaign_plan(campaign=campaign, warmup_utterances=warmup_utterances)
    campaign.setup_notes = plan.notes
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError:
        raise CampaignSetupError(
            f"corpus {campaign.corpus.name} already has a campaign named {campaign.name!r}", field="name"
        ) from None
    Role = CampaignItem.Role

    def item(utterance: Utterance, role: str, position: int = 0) -> CampaignItem:
        key = item_shuffle_key(seed=campaign.seed, utterance_id=utterance.pk)
        return CampaignItem(campaign=campaign, utterance=utterance, role=role, position=position, shuffle_key=key)

    CampaignItem.objects.bulk_create(
        [item(u, Role.WARMUP, position=i) for i, u in enumerate(plan.warmup)]
        + [item(u, Role.GOLD) for u in plan.gold]
        + [item(u, Role.MAIN) for u in plan.main],
        batch_size=500,
    )
    return campaign


def campaign_set_open(*, campaign: Campaign, is_open: bool) -> Campaign:
    """Open or close a campaign. A closed campaign refuses new items and answers; nothing is lost."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.is_open != is_open:
            locked.is_open = is_open
            locked.save(update_fields=["is_open"])
    campaign.is_open = is_open
    return campaign
