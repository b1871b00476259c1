"""Bulk SMS campaigns: audience, message text, preview, approval, background sending, progress."""
