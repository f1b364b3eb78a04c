"""The registry of enrolled liberal nurses (IDEL) that matching draws on."""
