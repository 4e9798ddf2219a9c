"""Developer tools: the local platform launcher (tests, benchmarks), bulk loading, sample form answers, demo seeding
and the preflight check."""
