-- Long-term budgets (issue 14): a cap on the ε spent on answers that depend
-- on any one taxonomy category, and a cap on the device's total, both over
-- a long window (default 365 days) that an erasure of everything restarts.

-- The categories an answer depends on — a threshold's or a mean's category,
-- every candidate of a top_k question — stored once per distinct set.
-- categories is the sorted, comma-separated list of category ids ("" for a
-- charge that names none).
CREATE TABLE category_set (
    id         INTEGER PRIMARY KEY,
    categories TEXT    NOT NULL UNIQUE
);

-- The set each spend is charged to. NULL: spent before this migration, when
-- the ledger did not record categories; such a spend counts against every
-- category (it may have depended on any), so an existing ledger's history
-- counts toward the new caps.
ALTER TABLE spend ADD COLUMN category_set INTEGER REFERENCES category_set (id);

-- The owner's erasures of everything (Device.Forget("")): the long-term caps
-- count only spends with id > after_spend of the latest erasure. The same
-- transaction deletes every memoized answer. Never deleted.
CREATE TABLE erasure (
    id          INTEGER PRIMARY KEY,
    after_spend INTEGER NOT NULL,
    memos       INTEGER NOT NULL,
    at_unix_ns  INTEGER NOT NULL
);
