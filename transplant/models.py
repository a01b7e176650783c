"""Transplant and follow-up CRFs (donor, graft, procedure, counts, GVHD, chimerism, viral loads, ...)."""
