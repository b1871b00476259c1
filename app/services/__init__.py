"""Domain services: database sessions and queues in, no Flask."""
