-- The long-term caps charge a memoized answer once (issue 14, item 4): every
-- report re-sent from one memo is a randomized function of that memo alone,
-- so together they reveal no more than it — its ε∞, once per long-term
-- period. memo_scope and memo_value are the ldp.MemoKey the report was drawn
-- from; NULL: a spend recorded before this migration, or one drawn from no
-- memo, which the long-term caps count on its own (as before).
ALTER TABLE spend ADD COLUMN memo_scope TEXT;
ALTER TABLE spend ADD COLUMN memo_value TEXT;
CREATE INDEX spend_by_memo ON spend (memo_scope, memo_value);
