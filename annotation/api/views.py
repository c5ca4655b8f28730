"""Campaign API: parse, call one service, shape the answer."""

import functools

from django.http import Http404
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.serializers import (
    AnswerChangeSerializer,
    AnswerResultSerializer,
    AnswerSerializer,
    CampaignCreateSerializer,
    CampaignSerializer,
    ErrorSerializer,
    MyProgressSerializer,
    NextItemSerializer,
)
from annotation.models import Campaign
from annotation.selectors.campaigns import (
    assessor_progress,
    assessor_states,
    campaign_user_can_manage,
    campaigns_for_labelling,
    campaigns_visible_to,
    instructions_confirmed,
    labelling_context,
)
from annotation.services.campaigns import campaign_create
from annotation.services.judgments import NoAccess, assignment_next, judgment_change, judgment_record
from emolab.authentication import API_AUTHENTICATION
from emolab.roles import IsResearcher
from emolab.throttling import DEFAULT_THROTTLES, AnswersThrottle

_NOT_FOUND = f"No {Campaign._meta.object_name} matches the given query."  # get_object_or_404's words


def _labelling_context_or_404(request: Request, campaign_id: int, now):
    """The campaign and the user's access to it. Whoever may neither label in it nor manage it cannot
    tell it from a campaign that does not exist: 404 either way. Researchers, who see every
    campaign, are told by the service why they may not label (403)."""
    campaign, access = labelling_context(campaign_id=campaign_id, user=request.user, now=now)
    if campaign is None or (not access.can_label and not campaign_user_can_manage(user=request.user)):
        raise Http404(_NOT_FOUND)
    return campaign, access


_ANY_ITEM = "00000000-0000-0000-0000-000000000000"


@functools.lru_cache(maxsize=1024)
def _audio_url_pattern(script_prefix: str, campaign_id: int) -> str:
    return reverse("annotation:item_audio", args=[campaign_id, _ANY_ITEM])


def _audio_url(campaign_id: int, item_public_id) -> str:
    """The item's audio URL; URL reversal is costly enough to do once per campaign, not per item."""
    return _audio_url_pattern(get_script_prefix(), campaign_id).replace(_ANY_ITEM, str(item_public_id))


def _error_responses(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}


def _states_for(campaigns, user, can_manage: bool) -> dict:
    """The user's own progress in each campaign they label in, in a fixed number of queries."""
    if can_manage:  # they see every campaign; progress only where they label too
        labelled = set(campaigns_for_labelling(user=user).values_list("pk", flat=True))
        campaigns = [campaign for campaign in campaigns if campaign.pk in labelled]
    return assessor_states(campaigns=campaigns, assessor=user)


class CampaignListCreateView(APIView):
    authentication_classes = API_AUTHENTICATION

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsResearcher()]
        return [IsAuthenticated()]

    @extend_schema(
        summary="Campaigns you may work on or manage",
        responses={200: CampaignSerializer(many=True), **_error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        can_manage = campaign_user_can_manage(user=request.user)
        campaigns = campaigns_visible_to(user=request.user)
        if can_manage:
            campaigns = campaigns.prefetch_related("assessors")  # only researchers see whom a campaign names
        campaigns = list(campaigns)
        context = {"states": _states_for(campaigns, request.user, can_manage), "can_manage": can_manage}
        return Response(CampaignSerializer(campaigns, many=True, context=context).data)

    @extend_schema(
        summary="Create a relabelling campaign (researchers and admins)",
        request=CampaignCreateSerializer,
        responses={201: CampaignSerializer, **_error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        serializer = CampaignCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        campaign = campaign_create(
            corpus=data["corpus"],
            name=data["name"],
            created_by=request.user,
            classes=data["classes"],
            judgments_per_item=data["judgments_per_item"],
            feedback=data["feedback"],
            items_per_assessor=data["items_per_assessor"],
            replay_limit=data["replay_limit"],
            gold_share=data["gold_share"],
            warmup_per_class=data["warmup_per_class"],
            warmup_utterances=data["warmup_utterances"],
            assessors=data["assessors"],
            exclude_seen_elsewhere=data["exclude_seen_elsewhere"],
            instructions=data["instructions"],
            class_definitions=data["class_definitions"],
            allow_cant_tell=data["allow_cant_tell"],
            min_listen_fraction=data["min_listen_fraction"],
            break_every=data["break_every"],
        )  # a CampaignSetupError answers 400 with the field it names (emolab/errors.py)
        context = {"states": _states_for([campaign], request.user, can_manage=True), "can_manage": True}
        return Response(CampaignSerializer(campaign, context=context).data, status=status.HTTP_201_CREATED)


class NextItemView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your next item (reserved for you), or item null when you are finished",
        description=(
            "Asking again before answering returns the same item. Gold items show as phase 'main'. A campaign "
            "you are not an assessor of answers 404, as one that does not exist (403 for researchers, who see it)."
        ),
        responses={200: NextItemSerializer, **_error_responses(401, 403, 404, 409)},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        now = timezone.now()
        campaign, access = _labelling_context_or_404(request, campaign_id, now)
        # The services' errors answer with their status (emolab/errors.py).
        result = assignment_next(campaign=campaign, assessor=request.user, now=now, access=access)
        item = None
        if result.item is not None:
            item = {
                "id": str(result.item.public_id),
                "audio_url": _audio_url(campaign.pk, result.item.public_id),
                "duration": round(result.item.duration_s, 3),
                "phase": result.shown_phase,
            }
        # The shape of NextItemSerializer, built directly: this answers every item of every assessor.
        body = {
            "item": item,
            "classes": campaign.classes,
            "progress": {"done": result.state.done, "total": result.state.total},
        }
        return Response(body)


class AnswerView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    throttle_classes = [*DEFAULT_THROTTLES, AnswersThrottle]

    @extend_schema(
        summary="Record your answer for an item reserved for you",
        description=(
            "201 with the expert label and whether you matched it (when the campaign gives feedback; always "
            "in warm-up). Sending the same answer again returns the stored result with 200; a different "
            "answer for an item already answered is refused with 409 (use .../answers/{item}/change/ before "
            "the next item). label 'cant_tell' is accepted where the campaign allows it. An answer sooner than "
            "the campaign's listening rule allows (min_listen_fraction of the clip, checked against its duration "
            "and played_fraction) is refused with 409 and a message. A campaign you are not an assessor of "
            "answers 404, as one that does not exist (403 for researchers, who see it)."
        ),
        request=AnswerSerializer,
        responses={
            201: AnswerResultSerializer,
            200: AnswerResultSerializer,
            **_error_responses(400, 401, 403, 404, 409),
        },
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        now = timezone.now()
        campaign, access = _labelling_context_or_404(request, campaign_id, now)
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = judgment_record(
            now=now,
            access=access,
            campaign=campaign,
            assessor=request.user,
            item_public_id=data["item"],
            answer=data["label"],
            response_ms=data["response_ms"],
            replays=data["replays"],
            played_fraction=data["played_fraction"],
        )
        # The shape of AnswerResultSerializer, built directly (every answer of every assessor comes here).
        body = {"item": str(result.item_public_id)}
        if result.show_feedback:
            body["correct"] = result.is_correct
            body["expert_label"] = result.expert_label
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


def _answer_body(result) -> dict:
    body = {"item": str(result.item_public_id)}
    if result.show_feedback:
        body["correct"] = result.is_correct
        body["expert_label"] = result.expert_label
    return body


class AnswerChangeView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    throttle_classes = [*DEFAULT_THROTTLES, AnswersThrottle]

    @extend_schema(
        summary="Change your last answer (undo), until the next item is handed to you",
        description=(
            "Allowed until you ask for the next item (GET .../next/): after that, 409. The judgment keeps the "
            "final answer; the first answer and the change time are stored, and the response time stays the "
            "time to the first answer. 200 with the same shape as an answer's result."
        ),
        request=AnswerChangeSerializer,
        responses={200: AnswerResultSerializer, **_error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, campaign_id: int, item_id) -> Response:
        now = timezone.now()
        campaign, access = _labelling_context_or_404(request, campaign_id, now)
        serializer = AnswerChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = judgment_change(
            campaign=campaign,
            assessor=request.user,
            item_public_id=item_id,
            answer=serializer.validated_data["label"],
            now=now,
            access=access,
        )
        return Response(_answer_body(result))


class MyProgressView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your own progress in a campaign",
        description=(
            'answered, remaining, your scored answers with the "can\'t tell" and changed ones, and, when the '
            "campaign gives feedback (so you saw the experts' labels anyway), your agreement with the experts "
            "over the scored answers that name a class (null otherwise)."
        ),
        responses={200: MyProgressSerializer, **_error_responses(401, 403, 404)},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign, access = _labelling_context_or_404(request, campaign_id, timezone.now())
        if not access.can_label:
            raise NoAccess("you are not an assessor of this campaign")
        progress = assessor_progress(campaign=campaign, assessor=request.user)
        body = {
            "answered": progress.answered,
            "remaining": progress.remaining,
            "total": progress.state.total,
            "warmup": {"done": progress.state.warmup_done, "total": progress.state.warmup_total},
            "scored": progress.scored,
            "cant_tell": progress.cant_tell,
            "changed": progress.changed,
            "agreement": None if progress.agreement is None else round(progress.agreement, 4),
            "instructions_confirmed": instructions_confirmed(campaign=campaign, user=request.user),
            "is_open": campaign.is_open,
        }
        return Response(body)
