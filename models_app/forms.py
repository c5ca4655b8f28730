from django import forms

from annotation.models import Corpus
from emolab.bounds import column_max
from models_app.models import TrainingJob
from models_app.ser.config import DEFAULT_DEVICE, DEFAULT_PRESET, PRESET_DESCRIPTIONS, check_device
from models_app.ser.cv import DEFAULT_FOLDS, MAX_FOLDS, MIN_FOLDS
from models_app.ser.features.config import DEFAULT_FEATURE_SET, FEATURE_SET_DESCRIPTIONS
from models_app.ser.registry import METHODS

# The paper's four methods; the statistics forest is our extra baseline, one tick away.
DEFAULT_METHODS = ["dummy", "framewise", "onelabel", "ctc"]


class JobStartForm(forms.Form):
    corpus = forms.ModelChoiceField(queryset=Corpus.objects.all(), to_field_name="name")
    methods = forms.MultipleChoiceField(
        choices=[(method.name, method.long_title) for method in METHODS.values()],
        initial=DEFAULT_METHODS,
        widget=forms.CheckboxSelectMultiple,
    )
    preset = forms.ChoiceField(
        choices=[(name, f"{name}: {description}") for name, description in PRESET_DESCRIPTIONS.items()],
        initial=DEFAULT_PRESET,
    )
    features = forms.ChoiceField(
        label="Feature set",
        choices=[(name, f"{name}: {description}") for name, description in FEATURE_SET_DESCRIPTIONS.items()],
        initial=DEFAULT_FEATURE_SET,
        required=False,  # a form posted without it (a script, an older page) gets the paper's set
    )
    device = forms.CharField(
        max_length=10,
        initial=DEFAULT_DEVICE,
        required=False,
        help_text="auto (a GPU when the worker has one), cpu, cuda or cuda:N",
    )
    folds = forms.IntegerField(min_value=MIN_FOLDS, max_value=MAX_FOLDS, initial=DEFAULT_FOLDS)
    model_seeds = forms.CharField(
        label="Model seeds",
        required=False,
        max_length=100,
        help_text="e.g. 0,1,2: every method once per seed on the same folds, reported as mean ± std (empty: one run)",
    )
    seed = forms.IntegerField(min_value=0, max_value=column_max(TrainingJob, "seed"), initial=0)

    def clean_features(self) -> str:
        return self.cleaned_data["features"] or DEFAULT_FEATURE_SET

    def clean_device(self) -> str:
        try:
            return check_device(self.cleaned_data["device"].strip() or DEFAULT_DEVICE)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_model_seeds(self) -> list[int]:
        text = self.cleaned_data["model_seeds"].strip()
        try:
            return [int(part) for part in text.split(",") if part.strip()] if text else []
        except ValueError:
            raise forms.ValidationError("give the model seeds as comma-separated whole numbers, e.g. 0,1,2") from None
