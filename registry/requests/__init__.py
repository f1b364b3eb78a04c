"""Visit requests booked by tracing agents or pushed by the CPAM information system."""
