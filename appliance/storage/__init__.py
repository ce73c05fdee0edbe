"""Storage on the data partition: the database (journal, history, outbox) and the backups."""
