"""REST API for training jobs: admins start and cancel; researchers may read; assessors get 403."""

import tempfile

from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from annotation.models import Corpus
from emolab.bounds import column_max
from emolab.roles import IsAdminOrReadOnlyResearcher
from models_app.models import JobUnit, TrainingJob
from models_app.selectors.jobs import training_job_progress, training_jobs_visible_to
from models_app.selectors.model_files import model_artifact, model_file_write
from models_app.ser.config import DEFAULT_DEVICE, DEFAULT_PRESET, PRESET_NAMES, check_device
from models_app.ser.cv import DEFAULT_FOLDS, MAX_FOLDS, MIN_FOLDS
from models_app.ser.features.config import DEFAULT_FEATURE_SET, FEATURE_SET_NAMES
from models_app.ser.registry import METHOD_NAMES
from models_app.services import jobs as job_services


class JobCreateSerializer(serializers.Serializer):
    corpus = serializers.SlugRelatedField(slug_field="name", queryset=Corpus.objects.all())
    methods = serializers.ListField(
        child=serializers.ChoiceField(choices=METHOD_NAMES), allow_empty=False, max_length=10
    )
    preset = serializers.ChoiceField(
        choices=PRESET_NAMES,
        default=DEFAULT_PRESET,
        error_messages={"invalid_choice": f"unknown preset {{input!r}}; choose one of {', '.join(PRESET_NAMES)}"},
    )
    features = serializers.ChoiceField(
        choices=FEATURE_SET_NAMES,
        default=DEFAULT_FEATURE_SET,
        error_messages={
            "invalid_choice": f"unknown feature set {{input!r}}; choose one of {', '.join(FEATURE_SET_NAMES)}"
        },
    )
    device = serializers.CharField(default=DEFAULT_DEVICE, max_length=10)
    folds = serializers.IntegerField(default=DEFAULT_FOLDS, min_value=MIN_FOLDS, max_value=MAX_FOLDS)
    seed = serializers.IntegerField(default=0, min_value=0, max_value=column_max(TrainingJob, "seed"))

    model_seeds = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=2**31 - 1),
        default=list,
        max_length=10,
        help_text="run every method once per model seed on the folds of `seed`; results are the mean",
    )

    def validate_model_seeds(self, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise serializers.ValidationError("a model seed is given twice")
        return value

    def validate_device(self, value: str) -> str:
        try:
            return check_device(value.strip())
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class JobUnitSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobUnit
        fields = [
            "kind",
            "method",
            "fold",
            "status",
            "progress",
            "detail",
            "attempts",
            "send_count",
            "requeues",
            "heartbeat_at",
            "error",
        ]


class JobSerializer(serializers.ModelSerializer):
    corpus = serializers.CharField(source="corpus.name")
    folds = serializers.IntegerField(source="n_folds")
    created_by = serializers.CharField(source="created_by.username", default=None)
    progress = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()
    units = JobUnitSerializer(many=True, read_only=True)

    class Meta:
        model = TrainingJob
        fields = [
            "id",
            "corpus",
            "methods",
            "preset",
            "features",
            "device",
            "folds",
            "seed",
            "model_seeds",
            "status",
            "progress",
            "error",
            "results",
            "classes",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "code_version",
            "config",
            "units",
        ]

    def get_progress(self, job) -> float:
        return training_job_progress(job=job)

    def get_results(self, job) -> dict | None:
        """Per row: pooled overall and mean class accuracy, with fold spread and confusion."""
        if job.status != TrainingJob.Status.SUCCEEDED:
            return None
        return job.results


class JobViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdminOrReadOnlyResearcher]
    serializer_class = JobSerializer

    def get_queryset(self):
        return training_jobs_visible_to(user=self.request.user).prefetch_related("units")

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(
        request=JobCreateSerializer,
        responses={
            201: JobSerializer,
            503: OpenApiResponse(
                description="The task queue is unreachable: the job (`job`) is saved as failed; resume it later."
            ),
        },
    )
    def create(self, request, *args, **kwargs):
        params = JobCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        job = job_services.training_job_start(
            corpus=data["corpus"],
            methods=data["methods"],
            preset=data["preset"],
            folds=data["folds"],
            seed=data["seed"],
            features=data["features"],
            device=data["device"],
            model_seeds=data["model_seeds"],
            created_by=request.user,
        )
        return Response(JobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: JobSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        job = job_services.training_job_cancel(job=self.get_object())
        return Response(JobSerializer(job).data)

    @extend_schema(
        request=None,
        responses={
            200: JobSerializer,
            409: OpenApiResponse(description="The job is running or has succeeded."),
            503: OpenApiResponse(description="The task queue is unreachable: the job stays failed."),
        },
    )
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Run again what a job is missing. Any job that is not running or succeeded."""
        job = job_services.training_job_resume(job=self.get_object())
        return Response(JobSerializer(job).data)

    @extend_schema(
        summary="Download a final model of the job: one zip with the weights and model.json (the model card)",
        description=(
            "model.json holds the method, classes, feature configuration, training corpus and speakers, "
            "preset and config, code version, the cross-validated Table 1 row(s) and the date. "
            "`manage.py predict FILE --model MODEL.zip` runs the timeline with a downloaded CTC model. "
            "Researchers and admins; 404 when the job has not succeeded or did not train the method."
        ),
        responses={(200, "application/zip"): OpenApiTypes.BINARY, 404: None},
    )
    @action(detail=True, methods=["get"], url_path=r"models/(?P<method>[a-z_]+)")
    def model(self, request, pk=None, method=None):
        job = get_object_or_404(self.get_queryset(), pk=pk)
        artifact = model_artifact(job=job, method=method)
        if artifact is None:
            raise Http404(f"Job {job.pk} has no final {method} model.")
        # Spooled: a few MB, written once and sent from the start; removed when the response closes.
        out = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
        model_file_write(artifact=artifact, out=out)
        out.seek(0)
        return FileResponse(
            out, as_attachment=True, filename=f"emolab-job{job.pk}-{method}.zip", content_type="application/zip"
        )
