"""The identifiability engine: relations, classes, verdicts, certificates, ``verify``."""
