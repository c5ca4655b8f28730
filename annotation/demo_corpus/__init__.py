"""The synthesized demo corpus: espeak-ng speech with emotion-like prosody and simulated votes.

Django-free: it writes wav files and returns ``UtteranceRecord``s; the management command
``build_demo_corpus`` hands them to the import service. ``synthesize_utterance`` gives other
tests one utterance of demo speech without building a corpus.
"""

from annotation.demo_corpus.builder import DESCRIPTION, DemoCorpusBuild, DemoCorpusError, build_demo_corpus
from annotation.demo_corpus.config import DemoCorpusConfig
from annotation.demo_corpus.prosody import DEMO_CLASSES
from annotation.demo_corpus.render import SAMPLE_RATE, synthesize_utterance
from annotation.demo_corpus.voices import DEMO_SPEAKERS

__all__ = [
    "DEMO_CLASSES",
    "DEMO_SPEAKERS",
    "DESCRIPTION",
    "SAMPLE_RATE",
    "DemoCorpusBuild",
    "DemoCorpusConfig",
    "DemoCorpusError",
    "build_demo_corpus",
    "synthesize_utterance",
]
