"""The version of the checkpoint files persistence.py writes, in a module without torch, so the
web process can name it (the model card of a download) without loading the network code."""

FORMAT_VERSION = 1
