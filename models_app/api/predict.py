"""``POST /api/predict/``: the emotion timeline of an uploaded recording (researchers and admins).

Multipart fields: ``audio`` (wav, flac or ogg; any rate; mono or stereo) and optionally ``job``
(a training job's id; default: the latest succeeded job with a CTC model). Errors answer with a
``detail`` saying what to do: 400 bad input, 404 unknown job, 409 no CTC model yet, 413 too large
(the statuses of the services' errors are in emolab/errors.py).
"""

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
from models_app.models import TrainingJob
from models_app.services.timeline import recording_check_size, recording_timeline, timeline_payload


@extend_schema_field(OpenApiTypes.BINARY)
class UploadField(serializers.FileField):
    """A file field that the schema shows as an upload (binary), not as a URL."""


class PredictRequestSerializer(serializers.Serializer):
    audio = UploadField(help_text="The recording: wav, flac or ogg; any sample rate; mono or stereo.")
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
            "per-frame probabilities. Nothing is stored."
        ),
        request={"multipart/form-data": PredictRequestSerializer},
        responses={
            200: PredictResponseSerializer,
            400: OpenApiResponse(
                PredictErrorSerializer,
                description="Not audio, not wav/flac/ogg, empty, damaged, too short or too long.",
            ),
            401: OpenApiResponse(PredictErrorSerializer, description="Not signed in."),
            403: OpenApiResponse(PredictErrorSerializer, description="Researchers and admins only."),
            404: OpenApiResponse(PredictErrorSerializer, description="No such training job."),
            409: OpenApiResponse(
                PredictErrorSerializer, description="No trained CTC model yet (the detail says how to train one)."
            ),
            413: OpenApiResponse(PredictErrorSerializer, description="Over the size limit (EMOLAB_PREDICT_MAX_BYTES)."),
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
        result = recording_timeline(upload=params.validated_data["audio"], job_id=params.validated_data.get("job"))
        return Response(timeline_payload(result))


def _content_length(request) -> int | None:
    """The request's declared body size; None when it is malformed (the parser will complain)."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
