"""A host project for the live concurrency test: gunicorn serves it on PostgreSQL."""
