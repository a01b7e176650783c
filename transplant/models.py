"""Transplant and follow-up CRFs (donor, graft, procedure, counts, GVHD, chimerism, viral loads, ...).

None yet. The patient's vital status (death, off-study, last contact) is patient-level and lives in
`patients.models.vital`, below this app.
"""
