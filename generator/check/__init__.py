"""The CI gate: rendered documents -> schema and policy findings, located in the specs."""
