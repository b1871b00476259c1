"""Channels: AT's forms and replies in, normalised values out. No database models here."""
