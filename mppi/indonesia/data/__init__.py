"""Kemendagri region lists (ODbL, see SOURCE.md); a package so setuptools ships the CSV files."""
