-- The catalogue is one signed document, kept in meta.
DROP TABLE catalogue;
