"""The catalog service: the national template library and each region's services, with their standard, form,
workflow and versions (a published version never changes)."""
