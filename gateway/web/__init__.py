"""The web pages: server-rendered (Jinja2), mobile first, in the region's colours, working without JavaScript.
Pages read the same caches and services as /api/v1 and never touch a database."""
