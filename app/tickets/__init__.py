"""Complaint tickets: references, SLAs, the ticket workflow and the notices it sends."""
