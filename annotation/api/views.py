"""Campaign API: parse, call one service, shape the answer."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.api.serializers import (
    AnswerResultSerializer,
    AnswerSerializer,
    CampaignCreateSerializer,
    CampaignSerializer,
    ErrorSerializer,
    NextItemSerializer,
)
from annotation.models import Campaign
from annotation.selectors.campaigns import (
    assessor_state,
    campaign_user_can_label,
    campaign_user_can_manage,
    campaigns_visible_to,
)
from annotation.services.campaigns import campaign_create
from annotation.services.judgments import assignment_next, judgment_record
from emolab.authentication import API_AUTHENTICATION
from emolab.roles import IsResearcher
from emolab.throttling import DEFAULT_THROTTLES, AnswersThrottle


def _error_responses(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorSerializer) for code in codes}


def _states_for(campaigns, user) -> dict:
    now = timezone.now()
    return {
        campaign.pk: assessor_state(campaign=campaign, assessor=user, now=now)
        for campaign in campaigns
        if campaign_user_can_label(campaign=campaign, user=user)
    }


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
        campaigns = list(campaigns_visible_to(user=request.user).prefetch_related("assessors"))
        context = {
            "states": _states_for(campaigns, request.user),
            "can_manage": campaign_user_can_manage(user=request.user),
        }
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
        )  # a CampaignSetupError answers 400 with the field it names (emolab/errors.py)
        context = {"states": _states_for([campaign], request.user), "can_manage": True}
        return Response(CampaignSerializer(campaign, context=context).data, status=status.HTTP_201_CREATED)


class NextItemView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Your next item (reserved for you), or item null when you are finished",
        description="Asking again before answering returns the same item. Gold items show as phase 'main'.",
        responses={200: NextItemSerializer, **_error_responses(401, 403, 404, 409)},
    )
    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        # The services' errors answer with their status (emolab/errors.py).
        result = assignment_next(campaign=campaign, assessor=request.user)
        item = None
        if result.item is not None:
            item = {
                "id": result.item.public_id,
                "audio_url": reverse("annotation:item_audio", args=[campaign.pk, result.item.public_id]),
                "duration": round(result.item.utterance.duration_s, 3),
                "phase": result.shown_phase,
            }
        body = {
            "item": item,
            "classes": campaign.classes,
            "progress": {"done": result.state.done, "total": result.state.total},
        }
        return Response(NextItemSerializer(body).data)


class AnswerView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated]
    throttle_classes = [*DEFAULT_THROTTLES, AnswersThrottle]

    @extend_schema(
        summary="Record your answer for an item reserved for you",
        description=(
            "201 with the expert label and whether you matched it (when the campaign gives feedback; always "
            "in warm-up). Sending the same answer again returns the stored result with 200; a different "
            "answer for an item already answered is refused with 409."
        ),
        request=AnswerSerializer,
        responses={
            201: AnswerResultSerializer,
            200: AnswerResultSerializer,
            **_error_responses(400, 401, 403, 404, 409),
        },
    )
    def post(self, request: Request, campaign_id: int) -> Response:
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        serializer = AnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = judgment_record(
            campaign=campaign,
            assessor=request.user,
            item_public_id=data["item"],
            answer=data["label"],
            response_ms=data["response_ms"],
            replays=data["replays"],
        )
        body = {"item": result.judgment.item.public_id}
        if result.show_feedback:
            body["correct"] = result.judgment.is_correct
            body["expert_label"] = result.judgment.expert_label
        return Response(
            AnswerResultSerializer(body).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
