package aggregatortest

import (
	"testing"

	"github.com/wisp-project/wisp/internal/prio"
	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// StoredPrio3Shares reads a prio3 aggregator's aggregate shares of
// campaign camp from its SQLite file at path, by epoch: the sum of the
// out shares before any noise (the noised copy a collection returns is a
// column of its own). Unsharding the leader's and the helper's gives a
// test the exact totals the release then noises.
func StoredPrio3Shares(t testing.TB, path string, p prio.Params, camp string) map[uint32]*prio.AggShare {
	t.Helper()
	db, err := sqlitedb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT epoch, reports, share FROM prio3_aggregates WHERE campaign = ?`, camp)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	shares := map[uint32]*prio.AggShare{}
	for rows.Next() {
		var epoch uint32
		var n int64
		var share []byte
		if err := rows.Scan(&epoch, &n, &share); err != nil {
			t.Fatal(err)
		}
		if shares[epoch], err = prio.DecodeAggShare(p, uint64(n), share); err != nil {
			t.Fatalf("%s epoch %d: %v", camp, epoch, err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return shares
}
