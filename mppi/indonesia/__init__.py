"""Indonesian domain helpers: Kemendagri regions, NIK checks, working days, SKM/IKM and search normalisation.

Pure Python (standard library plus ``holidays``); import the submodules directly.
"""
