"""Evaluation against colour originals: protocols, the gray baseline, the run and its report."""
