"""Notifications: an outbox in the database, and the channels that deliver it."""
