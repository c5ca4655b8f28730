"""REST API for training jobs: admins start and cancel; researchers may read; assessors get 403."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from annotation.models import Corpus
from emolab.bounds import column_max
from emolab.roles import IsAdminOrReadOnlyResearcher
from models_app.models import JobUnit, TrainingJob
from models_app.selectors.jobs import training_job_progress, training_jobs_visible_to
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
        fields = ["kind", "method", "fold", "status", "progress", "detail", "attempts", "error"]


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
        job = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        # Reading a running job is when a dead worker is noticed (no scheduler is needed for it).
        if job_services.training_job_fail_stalled(job=job):
            job.refresh_from_db()
        return job

    @extend_schema(request=JobCreateSerializer, responses={201: JobSerializer})
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

    @extend_schema(request=None, responses={200: JobSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        job = job_services.training_job_resume(job=self.get_object())
        return Response(JobSerializer(job).data)
