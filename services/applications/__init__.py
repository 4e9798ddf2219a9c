"""The applications service. So far it keeps its own copy of every published service version (from catalog
events), which submissions will be validated against."""
