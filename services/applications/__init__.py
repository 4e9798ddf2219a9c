"""The applications service: submissions checked against its own copy of each published service version,
documents, tracking numbers, the workflow and its history, SLA in working days, issued documents with QR
verification, the SKM survey and statistics."""
