"""Orchestration shared by the DAGs and the `minhu` CLI: it calls the stages in order."""
