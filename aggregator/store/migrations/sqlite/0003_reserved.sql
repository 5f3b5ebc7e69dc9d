-- Placeholder for migration 0003 (h15t's, issue 15): migrate.Load wants
-- numbers without a gap. Drop this file when 0003 is merged.
SELECT 1;
