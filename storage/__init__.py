"""Storage: the schema (models and migrations), the conversation record and the retry of a
database that is away for a moment. It imports nothing of the product but `knowledge`."""
