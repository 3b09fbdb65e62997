-- The extension chatkb's pgvector store needs, created once with the database.
CREATE EXTENSION IF NOT EXISTS vector;
