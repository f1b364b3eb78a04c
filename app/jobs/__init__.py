"""Scheduled jobs: one scheduler for the whole deployment, elected through a lease in the
database, running the planning loop, offer expiry, escalations, reminders, notification
delivery and the retention purge."""
