"""The assignment store for PostgreSQL, where crowds of assessors work at once: hand-written SQL,
one round trip per step, and no lock wider than the rows a request really changes.

- An item's place is taken under that item's row lock. Choosing the next main item, raising its
  load and reserving it is one statement: an index range scan in the assessor's own order that
  skips rows other requests hold (``FOR NO KEY UPDATE SKIP LOCKED``), a conditional ``UPDATE ...
  load + 1 ... WHERE load < target`` and the reservation's ``INSERT``. Requests choosing at the same
  moment take different items instead of queueing, and no item ever goes past its target.
- One assessor's requests in one campaign run one at a time: a transaction-scoped advisory lock on
  (campaign, assessor) that no other assessor ever waits for.
- Expired reservations are released by one request at a time per campaign (a try-lock: the others
  go on without waiting), in a statement of its own.

The functions mirror ``assignment_orm``; ``judgments.py`` holds the workflow and calls one or the other.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction

from annotation.models import CAMPAIGN_DEFAULTS, Assignment, Campaign, CampaignItem, Judgment, Utterance
from annotation.selectors.campaigns import KEY_SPACE, assessor_start
from annotation.services.assignment_rows import AnsweredItem, EarlierAnswer, HandedItem, HeldReservation, ItemsBusy

A = Assignment._meta.db_table
I = CampaignItem._meta.db_table  # noqa: E741 - the table names read like the SQL's aliases
J = Judgment._meta.db_table
U = Utterance._meta.db_table
# pg_try_advisory_xact_lock(bigint) keys of the expiry sweep, one per campaign; the (int4, int4)
# form used per assessor is a separate key space.
_SWEEP_KEY = 0x656D6F6C61620000

# Judgments of this assessor that rule item i out for them: one of its utterance in the same
# campaign, or (when the campaign says so) one in another campaign that showed them the label.
_NOT_BARRED = f"""NOT EXISTS (
    SELECT 1 FROM {J} j WHERE j.assessor_id = %(assessor)s AND j.utterance_id = i.utterance_id
      AND (j.campaign_id = i.campaign_id OR (j.label_shown AND %(exclude_seen)s)))"""


def _execute(sql: str, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _handed(row) -> HandedItem | None:
    return None if row is None else HandedItem(id=row[0], public_id=row[1], role=row[2], duration_s=row[3])


def release_expired(*, campaign: Campaign, now: datetime) -> None:
    """Stop counting the campaign's expired reservations in their items' load. The rows stay: a late
    answer on a released reservation is accepted while the place is still free."""
    if not _execute("SELECT pg_try_advisory_xact_lock(%s)", [_SWEEP_KEY + campaign.pk])[0][0]:
        return  # another request is releasing them right now
    # Reservations being answered right now are skipped (their answer decides). While it waits for an
    # item's row, a sweep holds only expired reservations' rows; only their assessors' answers wait
    # for those, holding no item row at that point, so no cycle of waits can close.
    _execute(
        f"""
        WITH expired AS (
            SELECT id, item_id FROM {A}
            WHERE campaign_id = %(campaign)s AND counted AND expires_at <= %(now)s
            FOR UPDATE SKIP LOCKED),
        released AS (
            UPDATE {A} AS a SET counted = false FROM expired WHERE a.id = expired.id RETURNING expired.item_id),
        per_item AS (SELECT item_id, count(*) AS n FROM released GROUP BY item_id)
        UPDATE {I} AS i SET load = i.load - per_item.n FROM per_item WHERE i.id = per_item.item_id
        """,
        {"campaign": campaign.pk, "now": now},
    )


def lock_assessor(*, campaign: Campaign, assessor) -> None:
    # The two-int4 form; ids beyond 2**31 share a lock now and then, which only serialises more.
    _execute("SELECT pg_advisory_xact_lock(%s::int4, %s::int4)", [campaign.pk % 2**31, assessor.pk % 2**31])


def held_item(*, campaign: Campaign, assessor, now: datetime) -> HandedItem | None:
    """The item this assessor holds a reservation for, if it still holds; expired ones are dropped."""
    rows = _execute(
        f"""
        SELECT a.id, a.counted, a.expires_at, i.id, i.public_id, i.role, u.duration_s
        FROM {A} a JOIN {I} i ON i.id = a.item_id JOIN {U} u ON u.id = i.utterance_id
        WHERE a.campaign_id = %s AND a.assessor_id = %s AND a.answered_at IS NULL
        ORDER BY a.assigned_at, a.id
        FOR UPDATE OF a
        """,
        [campaign.pk, assessor.pk],
    )
    item, dropped = None, []
    for assignment_id, counted, expires_at, *handed in rows:
        # Warm-up items are everyone's; a counted reservation (expired, not yet released) still holds its place.
        if item is None and (handed[2] == CampaignItem.Role.WARMUP or expires_at > now or counted):
            item = _handed(handed)
        elif not counted:
            dropped.append(assignment_id)  # expired and released: it may well be chosen again
    if dropped:
        _execute(f"DELETE FROM {A} WHERE id = ANY(%s)", [dropped])
    return item


def first_warmup(*, campaign: Campaign, assessor) -> HandedItem | None:
    rows = _execute(
        f"""
        SELECT i.id, i.public_id, i.role, u.duration_s FROM {I} i JOIN {U} u ON u.id = i.utterance_id
        WHERE i.campaign_id = %(campaign)s AND i.role = 'warmup' AND NOT EXISTS (
            SELECT 1 FROM {J} j WHERE j.assessor_id = %(assessor)s AND j.campaign_id = i.campaign_id
              AND j.utterance_id = i.utterance_id)
        ORDER BY i.position, i.id LIMIT 1
        """,
        {"campaign": campaign.pk, "assessor": assessor.pk},
    )
    return _handed(rows[0]) if rows else None


def _common(campaign: Campaign, assessor) -> dict:
    return {
        "campaign": campaign.pk,
        "assessor": assessor.pk,
        "exclude_seen": campaign.exclude_seen_elsewhere,
        "start": assessor_start(seed=campaign.seed, assessor_id=assessor.pk),
    }


def first_gold(*, campaign: Campaign, assessor) -> HandedItem | None:
    rows = _execute(
        f"""
        SELECT i.id, i.public_id, i.role, u.duration_s FROM {I} i JOIN {U} u ON u.id = i.utterance_id
        WHERE i.campaign_id = %(campaign)s AND i.role = 'gold' AND {_NOT_BARRED}
        ORDER BY i.shuffle_key < %(start)s, i.shuffle_key, i.id LIMIT 1
        """,
        _common(campaign, assessor),
    )
    return _handed(rows[0]) if rows else None


def _expiry(now: datetime) -> datetime:
    return now + timedelta(minutes=CAMPAIGN_DEFAULTS.reservation_minutes)


def reserve(*, campaign: Campaign, item: HandedItem, assessor, now: datetime) -> None:
    """Reserve a warm-up or gold item (they have no target, so no load)."""
    _execute(
        f"""INSERT INTO {A} (campaign_id, item_id, assessor_id, assigned_at, expires_at, answered_at, counted)
            VALUES (%s, %s, %s, %s, %s, NULL, false)""",
        [campaign.pk, item.id, assessor.pk, now, _expiry(now)],
    )


# One look for a main item: the first one at this load level within this range of keys, in key
# order, that nobody else holds right now; its load raised while below the target; reserved.
_TAKE_MAIN = f"""
WITH pick AS (
    SELECT i.id FROM {I} i
    WHERE i.campaign_id = %(campaign)s AND i.role = 'main' AND i.load = %(level)s
      AND i.shuffle_key >= %(low)s AND i.shuffle_key < %(high)s AND {_NOT_BARRED}
    ORDER BY i.shuffle_key, i.id
    LIMIT 1
    FOR NO KEY UPDATE SKIP LOCKED),
taken AS (
    UPDATE {I} AS t SET load = t.load + 1 FROM pick WHERE t.id = pick.id AND t.load < %(target)s
    RETURNING t.id, t.public_id, t.role, t.utterance_id),
reserved AS (
    INSERT INTO {A} (campaign_id, item_id, assessor_id, assigned_at, expires_at, answered_at, counted)
    SELECT %(campaign)s, taken.id, %(assessor)s, %(now)s, %(expires)s, NULL, true FROM taken
    RETURNING item_id)
SELECT taken.id, taken.public_id, taken.role, u.duration_s
FROM taken JOIN reserved ON reserved.item_id = taken.id JOIN {U} u ON u.id = taken.utterance_id
"""

_ANY_LEFT = f"""
SELECT i.id FROM {I} i
WHERE i.campaign_id = %(campaign)s AND i.role = 'main' AND i.load < %(target)s AND {_NOT_BARRED}
ORDER BY i.load LIMIT 1
"""


def take_main(*, campaign: Campaign, assessor, now: datetime) -> HandedItem | None:
    """Reserve the least-loaded main item open to this assessor, the first in their own order.

    Level by level, the assessor's own order is two key ranges: from their starting point up, then
    below it; each look is one statement. When every candidate is held by other requests right now,
    raises ItemsBusy naming one of them: the caller rolls back (this transaction may hold locks
    that a waiting request would need) and waits for that row before trying again. Answering
    "finished" because others were busy would be wrong.
    """
    params = _common(campaign, assessor) | {
        "target": campaign.judgments_per_item,
        "now": now,
        "expires": _expiry(now),
    }
    for level in range(campaign.judgments_per_item):
        for low, high in ((params["start"], KEY_SPACE), (0, params["start"])):
            rows = _execute(_TAKE_MAIN, params | {"level": level, "low": low, "high": high})
            if rows:
                return _handed(rows[0])
    busy = _execute(_ANY_LEFT, params)
    if busy:
        raise ItemsBusy(busy[0][0])
    return None  # nothing left for this assessor


def wait_for_item(*, item_id: int) -> None:
    """Wait until no other transaction holds this item's row (call it holding no lock yourself)."""
    with transaction.atomic():
        _execute(f"SELECT 1 FROM {I} WHERE id = %s FOR NO KEY UPDATE", [item_id])


def answer_context(
    *, campaign: Campaign, assessor, item_public_id
) -> tuple[AnsweredItem | None, EarlierAnswer | None, HeldReservation | None]:
    """The item answered, the assessor's earlier answer for its utterance, and their open reservation
    of it, locked (the expiry sweep skips it while it is answered). One statement."""
    rows = _execute(
        f"""
        WITH item AS (
            SELECT i.id, i.role, i.utterance_id, i.campaign_id FROM {I} i
            WHERE i.campaign_id = %(campaign)s AND i.public_id = %(item)s),
        reservation AS (
            SELECT a.id, a.counted FROM {A} a JOIN item ON a.item_id = item.id
            WHERE a.assessor_id = %(assessor)s AND a.answered_at IS NULL
            ORDER BY a.id LIMIT 1 FOR UPDATE OF a)
        SELECT item.id, item.role, item.utterance_id, u.label, u.duration_s,
               j.item_id, j.answer, j.is_correct, j.expert_label, j.label_shown, r.id, r.counted
        FROM item JOIN {U} u ON u.id = item.utterance_id
        LEFT JOIN {J} j ON j.campaign_id = item.campaign_id AND j.assessor_id = %(assessor)s
                        AND j.utterance_id = item.utterance_id
        LEFT JOIN reservation r ON true
        """,
        {"campaign": campaign.pk, "assessor": assessor.pk, "item": item_public_id},
    )
    if not rows:
        return None, None, None
    (
        item_id,
        role,
        utterance_id,
        label,
        duration,
        earlier_item,
        answer,
        correct,
        expert_label,
        shown,
        held,
        counted,
    ) = rows[0]
    item = AnsweredItem(id=item_id, role=role, utterance_id=utterance_id, expert_label=label, duration_s=duration)
    earlier = None
    if earlier_item is not None:
        earlier = EarlierAnswer(
            item_id=earlier_item, answer=answer, is_correct=correct, expert_label=expert_label, label_shown=shown
        )
    return item, earlier, None if held is None else HeldReservation(id=held, counted=counted)


def take_place(*, item_id: int, target: int) -> bool:
    """Raise a main item's load by one if it is below the target; False if it is full."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {I} SET load = load + 1 WHERE id = %s AND load < %s", [item_id, target])
        return cursor.rowcount == 1


def drop_reservation(*, reservation: HeldReservation) -> None:
    _execute(f"DELETE FROM {A} WHERE id = %s", [reservation.id])


def record(
    *,
    campaign: Campaign,
    assessor,
    item: AnsweredItem,
    reservation: HeldReservation,
    answer: str,
    response_ms: int,
    replays: int,
    label_shown: bool,
    now: datetime,
    played_fraction: float | None = None,
) -> None:
    """Store the judgment (numbered after the assessor's earlier ones) and close the reservation:
    the judgment now counts in the item's load in its place. One statement."""
    _execute(
        f"""
        WITH answered AS (
            UPDATE {A} SET answered_at = %(now)s, counted = false WHERE id = %(reservation)s RETURNING id)
        INSERT INTO {J} (campaign_id, item_id, utterance_id, assessor_id, answer, phase, expert_label, is_correct,
                         response_ms, replays, position, label_shown, created_at, first_answer, played_fraction)
        SELECT %(campaign)s, %(item)s, %(utterance)s, %(assessor)s, %(answer)s, %(phase)s, %(label)s, %(correct)s,
               %(response_ms)s, %(replays)s,
               (SELECT count(*) FROM {J} WHERE campaign_id = %(campaign)s AND assessor_id = %(assessor)s) + 1,
               %(shown)s, %(now)s, %(answer)s, %(played)s
        FROM answered
        """,
        {
            "now": now,
            "reservation": reservation.id,
            "campaign": campaign.pk,
            "item": item.id,
            "utterance": item.utterance_id,
            "assessor": assessor.pk,
            "answer": answer,
            "phase": item.role,
            "label": item.expert_label,
            "correct": answer == item.expert_label,
            "response_ms": response_ms,
            "replays": replays,
            "shown": label_shown,
            "played": played_fraction,
        },
    )
