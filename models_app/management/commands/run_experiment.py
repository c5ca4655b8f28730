"""Table 1 of the paper for an imported corpus, from the command line.

    python manage.py run_experiment --corpus emodb --classes anger,happiness,neutral,sadness \
        --preset fast --json var/emodb-fast.json
    python manage.py run_experiment --corpus emodb --classes anger,happiness,neutral,sadness \
        --preset best --features egemaps --seeds 0,1,2 --jobs 2
"""

import json
from dataclasses import replace
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation.selectors.corpora import UnknownCorpus, corpus_named
from models_app.selectors.datasets import DatasetError, dataset_for_corpus
from models_app.ser.config import DEFAULT_DEVICE, DEFAULT_PRESET, PRESET_NAMES, check_device, preset
from models_app.ser.cv import DEFAULT_FOLDS, MAX_FOLDS, MIN_FOLDS
from models_app.ser.experiment import run_experiment, run_seeds
from models_app.ser.features.config import DEFAULT_FEATURE_SET, FEATURE_SET_DESCRIPTIONS, FEATURE_SET_NAMES
from models_app.ser.progress import ProgressEvent
from models_app.ser.registry import METHOD_NAMES, unknown_methods
from models_app.services.features import feature_set_ensure


class _Stream:
    """A file for tqdm that writes through the command's stderr (so call_command can capture it)
    without the newline Django's OutputWrapper would add to every write."""

    def __init__(self, wrapper):
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()


class _Bars:
    """Progress: one bar over (method, fold) units, and one over the epochs of each running
    network unit (several at once with --jobs)."""

    def __init__(self, n_units: int, stream: _Stream):
        self.stream = stream
        self.units = tqdm(total=n_units, desc="folds", unit="fold", position=0, file=stream)
        self.epochs: dict[tuple, tqdm] = {}  # running unit -> its epoch bar

    def __call__(self, event: ProgressEvent) -> None:
        unit = (event.detail.get("method"), event.detail.get("fold"))
        if event.detail.get("finished"):
            self._close_epochs(unit)
            self.units.update(1)
        elif "epoch" in event.detail:
            bar = self.epochs.get(unit)
            if bar is None:
                taken = {b.pos for b in self.epochs.values()}
                position = next(p for p in range(1, len(self.epochs) + 2) if p not in taken)
                bar = tqdm(
                    total=event.total,
                    initial=event.done,  # the rate then counts from the first epoch, not from zero
                    desc=f"  {unit[0]} fold {unit[1]}",
                    unit="epoch",
                    position=position,
                    leave=False,
                    file=self.stream,
                )
                self.epochs[unit] = bar
            bar.update(event.done - bar.n)
            postfix = {"loss": f"{event.detail['loss']:.3f}"}
            if "val_loss" in event.detail:
                postfix["val_loss"] = f"{event.detail['val_loss']:.3f}"
            bar.set_postfix(postfix, refresh=False)
            bar.refresh()
        else:
            self.units.set_description(f"{unit[0]} fold {unit[1]}")

    def _close_epochs(self, unit) -> None:
        bar = self.epochs.pop(unit, None)
        if bar is not None:
            bar.close()

    def close(self) -> None:
        for unit in list(self.epochs):
            self._close_epochs(unit)
        self.units.close()


class Command(BaseCommand):
    help = "Run the paper's cross-validated comparison on an imported corpus and print Table 1."

    def add_arguments(self, parser):
        parser.add_argument("--corpus", required=True, help="name of an imported corpus")
        parser.add_argument(
            "--methods",
            default=",".join(METHOD_NAMES),
            help=f"comma-separated, from {', '.join(METHOD_NAMES)} (default: all)",
        )
        parser.add_argument(
            "--preset",
            default=DEFAULT_PRESET,
            choices=PRESET_NAMES,
            help=f"experiment preset (default: {DEFAULT_PRESET})",
        )
        parser.add_argument(
            "--folds",
            type=int,
            default=DEFAULT_FOLDS,
            help=f"speaker-independent folds, {MIN_FOLDS} to {MAX_FOLDS} (default: {DEFAULT_FOLDS})",
        )
        parser.add_argument(
            "--features",
            default=DEFAULT_FEATURE_SET,
            choices=FEATURE_SET_NAMES,
            help="acoustic feature set: "
            + "; ".join(f"{name}: {text}" for name, text in FEATURE_SET_DESCRIPTIONS.items())
            + f" (default: {DEFAULT_FEATURE_SET})",
        )
        parser.add_argument("--seed", type=int, default=0, help="fixes the folds and the models (default: 0)")
        parser.add_argument(
            "--seeds",
            default="",
            help=(
                "comma-separated model seeds, e.g. 0,1,2: the whole table once per seed on the folds of --seed, "
                "reported as mean ± std over seeds with per-seed rows and paired tests (default: only --seed)"
            ),
        )
        parser.add_argument(
            "--classes",
            default="",
            help="comma-separated subset of the corpus's classes, e.g. anger,happiness,neutral,sadness (default: all)",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help=(
                "torch threads and forest jobs (default 1: on a machine shared with other work, "
                "more threads than free cores slows training down many times over)"
            ),
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            help=(
                "(method, fold) units run at once, each in its own process with --threads threads "
                "(default 1; on an idle 2-core machine --jobs 2 --threads 1 is fastest)"
            ),
        )
        parser.add_argument(
            "--device",
            default=DEFAULT_DEVICE,
            help="where the networks train and predict: auto (a CUDA GPU when torch sees one), cpu, cuda or cuda:N "
            f"(default: {DEFAULT_DEVICE}; the forests always use the CPU)",
        )
        parser.add_argument(
            "--standardize",
            action="store_true",
            help=(
                "standardise the networks' inputs on each training fold for every feature set (the openSMILE sets "
                "always are; by default the paper's set is fed raw, as the authors did): separates the effect of "
                "scaling from that of the feature set"
            ),
        )
        parser.add_argument("--json", dest="json_path", default="", help="write every number and prediction here")

    def handle(self, *args, **options):
        methods = [m.strip() for m in options["methods"].split(",") if m.strip()]
        unknown = unknown_methods(methods)
        if unknown or not methods:
            given = ", ".join(unknown) or "(none given)"
            raise CommandError(f"unknown methods {given}; choose from {', '.join(METHOD_NAMES)}")
        if not MIN_FOLDS <= options["folds"] <= MAX_FOLDS:
            raise CommandError(f"--folds must be between {MIN_FOLDS} and {MAX_FOLDS}")
        if options["threads"] < 1:
            raise CommandError("--threads must be at least 1")
        if options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1")
        json_path = Path(options["json_path"]).expanduser() if options["json_path"] else None
        if json_path is not None and not json_path.parent.is_dir():
            raise CommandError(f"--json: folder {json_path.parent} does not exist")
        try:
            corpus = corpus_named(name=options["corpus"])
        except UnknownCorpus as exc:
            raise CommandError(str(exc)) from None
        classes = [c.strip() for c in options["classes"].split(",") if c.strip()] or None
        try:
            model_seeds = [int(s) for s in options["seeds"].split(",") if s.strip()]
        except ValueError:
            raise CommandError(f"--seeds: give comma-separated integers, got {options['seeds']!r}") from None
        if len(set(model_seeds)) != len(model_seeds):
            raise CommandError("--seeds: a seed is given twice")

        try:
            device = check_device(options["device"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if device != "auto" and device != "cpu":
            from models_app.ser.torch_utils import DeviceUnavailable, resolve_device  # torch: only when a GPU is named

            try:
                resolve_device(device)
            except DeviceUnavailable as exc:
                raise CommandError(str(exc)) from None

        config = preset(options["preset"])
        config = replace(
            config, seed=options["seed"], n_threads=options["threads"], features=options["features"], device=device
        )
        if options["standardize"]:
            config = replace(config, network=replace(config.network, standardize=True))

        self.stderr.write(f"Features for {corpus.name} ({config.features}, preset {config.feature_preset}) ...")
        stream = _Stream(self.stderr)
        feature_bar = tqdm(desc="features", unit="utt", file=stream)

        def feature_progress(event: ProgressEvent) -> None:
            feature_bar.total = event.total or None
            feature_bar.n = event.done
            feature_bar.refresh()

        try:
            feature_set = feature_set_ensure(
                corpus=corpus, preset=config.feature_preset, features=config.features, progress=feature_progress
            )
        finally:
            feature_bar.close()
        try:
            dataset = dataset_for_corpus(corpus=corpus, feature_set=feature_set, classes=classes)
        except DatasetError as exc:
            raise CommandError(str(exc)) from None
        counts = ", ".join(f"{name} {n}" for name, n in dataset.class_counts().items())
        self.stdout.write(
            f"{corpus.name}: {len(dataset)} utterances ({counts}), "
            f"{len(set(dataset.groups))} groups, {len(set(dataset.speakers))} speakers; "
            f"preset {config.name}, features {config.features}, device {config.device}, "
            f"{options['folds']} folds, seed {options['seed']}"
            + (f", model seeds {','.join(map(str, model_seeds))}" if model_seeds else "")
            + (", network inputs standardised" if options["standardize"] else "")
        )

        bars = _Bars(len(methods) * options["folds"] * max(len(model_seeds), 1), stream)
        try:
            if model_seeds:
                result = run_seeds(
                    dataset,
                    methods,
                    config,
                    model_seeds,
                    n_folds=options["folds"],
                    seed=options["seed"],
                    progress=bars,
                    n_jobs=options["jobs"],
                )
            else:
                result = run_experiment(
                    dataset,
                    methods,
                    config,
                    n_folds=options["folds"],
                    seed=options["seed"],
                    progress=bars,
                    n_jobs=options["jobs"],
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bars.close()

        self.stdout.write("")
        self.stdout.write(f"Table 1: {corpus.name}, preset {config.name}, features {config.features}")
        if model_seeds:
            for seed, seed_result in zip(model_seeds, result.results, strict=True):
                self.stdout.write(f"\nModel seed {seed}")
                self.stdout.write(seed_result.format_table())
            self.stdout.write("")
        self.stdout.write(result.format_table())
        if json_path is not None:
            data = result.to_json()
            data["corpus"] = corpus.name
            data["feature_set"] = getattr(feature_set, "pk", None)
            partial = json_path.with_name(json_path.name + ".partial")
            partial.write_text(json.dumps(data))
            partial.replace(json_path)
            self.stdout.write(f"Wrote {json_path}")
