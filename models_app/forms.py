from django import forms

from annotation.models import Corpus
from emolab.bounds import column_max
from models_app.job_models import TrainingJob
from models_app.services.jobs import METHODS

METHOD_LABELS = {
    "dummy": "Dummy (majority class)",
    "framewise": "Framewise random forest",
    "onelabel": "One-label BLSTM",
    "ctc": "CTC BLSTM",
    "utterance_stats": "Per-utterance statistics forest",
}
PRESET_CHOICES = [
    ("fast", "fast: minutes, for trying things"),
    ("paper", "paper: the paper's settings (80 epochs, 1000 trees)"),
    ("best", "best: our improved recipe"),
]


class JobStartForm(forms.Form):
    corpus = forms.ModelChoiceField(queryset=Corpus.objects.all(), to_field_name="name")
    methods = forms.MultipleChoiceField(
        choices=[(m, METHOD_LABELS[m]) for m in METHODS],
        initial=["dummy", "framewise", "onelabel", "ctc"],
        widget=forms.CheckboxSelectMultiple,
    )
    preset = forms.ChoiceField(choices=PRESET_CHOICES, initial="fast")
    folds = forms.IntegerField(min_value=2, max_value=20, initial=5)
    seed = forms.IntegerField(min_value=0, max_value=column_max(TrainingJob, "seed"), initial=0)
