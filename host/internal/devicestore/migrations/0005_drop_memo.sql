-- Memoized answers moved to the ledger (ledger.db), beside the spends they
-- were randomized under. Open hands this table's rows to the ledger
-- (WithMemoHandoff) in this migration's transaction, before the drop.
DROP TABLE memo;
