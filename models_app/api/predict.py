"""``POST /api/predict/`` and ``GET /api/predictions/{id}/``: the emotion timeline of an uploaded
recording (researchers and admins), drawn by a Celery worker.

Multipart fields: ``audio`` (wav, flac or ogg; 8-192 kHz; up to 8 channels) and optionally ``job``
(a training job's id; default: the latest succeeded job with a CTC model). The web process checks
the header only (services/predictions.py) and answers 202 with the prediction's id and Location,
or 200 with the timeline when a short clip's task finished within EMOLAB_PREDICT_WAIT_S. Errors
answer with a ``detail`` saying what to do: 400 bad input, 404 unknown job, 409 no CTC model yet,
413 too large, 429 too many at once (Retry-After), 503 queue unreachable (the statuses of the
services' errors are in emolab/errors.py).
"""

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from emolab.authentication import API_AUTHENTICATION
from emolab.bounds import column_max
from emolab.roles import IsResearcher
from emolab.throttling import DEFAULT_THROTTLES, PredictThrottle
from models_app.models import Prediction, TrainingJob
from models_app.selectors.predictions import prediction_of_owner, prediction_wait
from models_app.services.predictions import (
    prediction_create,
    prediction_discard,
    prediction_wait_slot,
    prediction_worth_waiting_for,
)
from models_app.services.timeline import recording_check_size


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file field that the schema shows as an upload (binary), not as a URL."""


class PredictRequestSerializer(serializers.Serializer):
    audio = UploadField(help_text="The recording: wav, flac or ogg; 8-192 kHz; up to 8 channels.")
    job = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=column_max(TrainingJob, "id"),
        help_text="Training job whose final CTC model to use (default: the latest that has one).",
    )


class SegmentSerializer(serializers.Serializer):
    start = serializers.FloatField(help_text="Seconds from the recording's start.")
    end = serializers.FloatField(help_text="Seconds from the recording's start.")
    emotion = serializers.CharField()
    confidence = serializers.FloatField(help_text="Mean probability of this emotion over the segment's frames, 0..1.")


class FileInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    format = serializers.CharField()
    sample_rate = serializers.IntegerField()
    channels = serializers.IntegerField()


class PredictResponseSerializer(serializers.Serializer):
    segments = SegmentSerializer(many=True)
    frame_step_s = serializers.FloatField(help_text="Frame i starts at i * frame_step_s seconds.")
    frame_window_s = serializers.FloatField(help_text="Length of each frame in seconds.")
    classes = serializers.ListField(child=serializers.CharField(), help_text="The model's emotions.")
    columns = serializers.ListField(
        child=serializers.CharField(), help_text='The probability columns: the emotions, then "none".'
    )
    probabilities = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="Per frame, the probability of each column: the mean of the CTC decisions of the 2 s windows "
        'around the frame ("none": the empty labeling), or "none" = 1 where the network does not look '
        "(silence, the recording's edges).",
    )
    scored = serializers.ListField(child=serializers.BooleanField(), help_text="Per frame: did the network score it.")
    job = serializers.IntegerField(help_text="The training job whose CTC model drew the timeline.")
    duration = serializers.FloatField(help_text="Seconds.")
    file = FileInfoSerializer()


class PredictErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class PredictionStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Prediction.Status.choices)
    progress = serializers.FloatField(help_text="0..1: decoding, then the features, then the network's windows.")
    stage = serializers.CharField(help_text="What runs now: decoding, timeline or figure; empty when not running.")
    error = serializers.CharField(help_text="Why it failed (status failed), else empty.")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    file = FileInfoSerializer()


class PredictionResultSerializer(PredictionStatusSerializer, PredictResponseSerializer):
    """While queued or running: the status fields. When succeeded: also every field of the
    timeline, as POST /api/predict/ answers it with 200."""

    file = FileInfoSerializer()


def prediction_status_body(prediction: Prediction) -> dict:
    body = {
        "id": prediction.pk,
        "status": prediction.status,
        "progress": prediction.progress,
        "stage": prediction.stage,
        "error": prediction.error,
        "created_at": serializers.DateTimeField().to_representation(prediction.created_at),
        "finished_at": serializers.DateTimeField().to_representation(prediction.finished_at)
        if prediction.finished_at
        else None,
        "file": {
            "name": prediction.file_name,
            "format": prediction.file_format,
            "sample_rate": prediction.sample_rate,
            "channels": prediction.n_channels,
        },
    }
    if prediction.status == Prediction.Status.SUCCEEDED and prediction.result:
        body = {**prediction.result, **body, "file": prediction.result.get("file", body["file"])}
    return body


def prediction_location(prediction: Prediction) -> str:
    return f"/api/predictions/{prediction.pk}/"


class PredictView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsResearcher]
    throttle_classes = [*DEFAULT_THROTTLES, PredictThrottle]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="predict_timeline",
        summary="Emotion timeline of a recording",
        description=(
            "Upload a recording and get the emotion segments the job's final CTC model finds in it, with the "
            "per-frame probabilities. Only the header is read here; a worker decodes the recording and runs "
            "the model. The answer is 202 with the prediction's id and a Location to poll "
            "(GET /api/predictions/{id}/), or 200 with the timeline itself when a short clip (up to 2 minutes) "
            "was done within EMOLAB_PREDICT_WAIT_S seconds (default 5; at most EMOLAB_PREDICT_MAX_WAITING "
            "requests wait at once, site-wide, the others are answered 202 at once). The upload is deleted once its "
            "timeline is drawn, the result after EMOLAB_PREDICT_KEEP_HOURS (default 24)."
        ),
        request={"multipart/form-data": PredictRequestSerializer},
        responses={
            200: OpenApiResponse(
                PredictResponseSerializer,
                description="The timeline, when the task finished within EMOLAB_PREDICT_WAIT_S "
                "(Content-Location: the prediction).",
            ),
            202: OpenApiResponse(
                PredictionStatusSerializer,
                description="Accepted: a worker draws the timeline. Location: /api/predictions/{id}/ gives its "
                "status, progress and, when succeeded, the timeline.",
            ),
            400: OpenApiResponse(
                PredictErrorSerializer,
                description="Not audio, not wav/flac/ogg, empty, damaged (truncated, a header that claims more "
                "than the file holds), an impossible rate (outside 8-192 kHz) or channel count (over 8), "
                "too short, or over the duration or sample limits. Nothing is stored.",
            ),
            401: OpenApiResponse(PredictErrorSerializer, description="Not signed in."),
            403: OpenApiResponse(PredictErrorSerializer, description="Researchers and admins only."),
            404: OpenApiResponse(PredictErrorSerializer, description="No such training job."),
            409: OpenApiResponse(
                PredictErrorSerializer, description="No trained CTC model yet (the detail says how to train one)."
            ),
            413: OpenApiResponse(PredictErrorSerializer, description="Over the size limit (EMOLAB_PREDICT_MAX_BYTES)."),
            429: OpenApiResponse(
                PredictErrorSerializer,
                description="EMOLAB_PREDICT_MAX_ACTIVE of your predictions are queued or running (or the predict "
                "throttle); Retry-After says when to try again.",
            ),
            500: OpenApiResponse(PredictErrorSerializer, description="The model's file is missing or broken."),
            503: OpenApiResponse(PredictErrorSerializer, description="The task queue is unreachable."),
        },
        examples=[
            OpenApiExample(
                "A neutral then angry recording",
                response_only=True,
                value={
                    "segments": [
                        {"start": 0.15, "end": 3.05, "emotion": "neutral", "confidence": 0.81},
                        {"start": 3.45, "end": 7.85, "emotion": "anger", "confidence": 0.9},
                    ],
                    "frame_step_s": 0.1,
                    "frame_window_s": 0.2,
                    "classes": ["anger", "excitement", "neutral", "sadness"],
                    "columns": ["anger", "excitement", "neutral", "sadness", "none"],
                    "probabilities": [[0.0, 0.0, 0.0, 0.0, 1.0], [0.02, 0.01, 0.93, 0.03, 0.01]],
                    "scored": [False, True],
                    "job": 3,
                    "duration": 8.0,
                    "file": {"name": "call.wav", "format": "wav", "sample_rate": 44100, "channels": 2},
                },
            )
        ],
    )
    def post(self, request):
        # Refuse an oversized upload before its body is parsed (and written to a temporary file).
        recording_check_size(n_bytes=_content_length(request))
        params = PredictRequestSerializer(data=request.data)
        if not params.is_valid():
            problems = "; ".join(
                f"{field}: {' '.join(map(str, messages))}" for field, messages in params.errors.items()
            )
            detail = f"Send the recording as the multipart file field 'audio' (and optionally 'job'). {problems}"
            return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
        prediction = prediction_create(
            owner=request.user, upload=params.validated_data["audio"], job_id=params.validated_data.get("job")
        )
        if prediction_worth_waiting_for(prediction):
            with prediction_wait_slot() as may_wait:
                if may_wait:
                    waited = prediction_wait(prediction_id=prediction.pk, timeout_s=settings.EMOLAB_PREDICT_WAIT_S)
                    prediction = waited or prediction
        if prediction.status == Prediction.Status.SUCCEEDED:
            return Response(prediction.result, headers={"Content-Location": prediction_location(prediction)})
        if prediction.status == Prediction.Status.FAILED:
            # Answered at once with the reason, so nothing of it is kept.
            prediction_discard(prediction_id=prediction.pk)
            code = 400 if prediction.error_kind == Prediction.ErrorKind.RECORDING else 500
            return Response({"detail": prediction.error}, status=code)
        return Response(
            prediction_status_body(prediction),
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": prediction_location(prediction)},
        )


class PredictionView(APIView):
    """``GET /api/predictions/{id}/``: one of your predictions."""

    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsResearcher]

    @extend_schema(
        operation_id="prediction_status",
        summary="Status, progress and result of a prediction",
        description=(
            "Status (queued, running, succeeded, failed), progress (0..1) and, when succeeded, every field of "
            "the timeline as POST /api/predict/ answers it with 200. Yours only: another user's answers 404. "
            "Deleted EMOLAB_PREDICT_KEEP_HOURS after the upload."
        ),
        responses={
            200: PredictionResultSerializer,
            401: OpenApiResponse(PredictErrorSerializer, description="Not signed in."),
            403: OpenApiResponse(PredictErrorSerializer, description="Researchers and admins only."),
            404: OpenApiResponse(PredictErrorSerializer, description="No such prediction of yours."),
        },
    )
    def get(self, request, pk: int):
        prediction = prediction_of_owner(owner=request.user, prediction_id=pk)
        return Response(prediction_status_body(prediction))


def _content_length(request) -> int | None:
    """The request's declared body size; None when it is malformed (the parser will complain)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
