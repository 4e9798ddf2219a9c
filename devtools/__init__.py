"""Developer tools: the local platform launcher (tests, benchmarks), demo seeding and the preflight check."""
