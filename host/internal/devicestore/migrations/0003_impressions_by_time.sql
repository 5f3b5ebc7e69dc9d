-- The global frequency cap counts impressions by time alone.
CREATE INDEX impressions_by_time ON impressions (at);
