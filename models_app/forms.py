from django import forms

from annotation.models import Corpus
from emolab.bounds import column_max
from models_app.models import TrainingJob
from models_app.ser.config import DEFAULT_PRESET, PRESET_DESCRIPTIONS
from models_app.ser.cv import DEFAULT_FOLDS, MAX_FOLDS, MIN_FOLDS
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
    folds = forms.IntegerField(min_value=MIN_FOLDS, max_value=MAX_FOLDS, initial=DEFAULT_FOLDS)
    seed = forms.IntegerField(min_value=0, max_value=column_max(TrainingJob, "seed"), initial=0)
