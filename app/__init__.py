"""Baraza: an SMS/USSD/voice gateway for county participation.

Kept empty on purpose: importing `app.engine` must not pull in Flask or the database.
"""
