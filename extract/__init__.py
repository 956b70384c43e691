"""Extraction: HTTP change feeds, archive export files and raw landing."""
