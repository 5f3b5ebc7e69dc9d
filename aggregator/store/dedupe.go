package store

import (
	"bytes"
	"fmt"
	"sort"
)

// dedupe marks every report whose id appeared earlier in the batch as a
// replay (fresh false) and returns the indexes of the first occurrences,
// sorted by id so that concurrent transactions lock rows in one order and
// cannot deadlock.
func dedupe(reports []Report) (fresh []bool, unique []int) {
	fresh = make([]bool, len(reports))
	seen := make(map[[16]byte]struct{}, len(reports))
	for i := range reports {
		if _, dup := seen[reports[i].ID]; dup {
			continue
		}
		seen[reports[i].ID] = struct{}{}
		unique = append(unique, i)
	}
	sort.Slice(unique, func(a, b int) bool {
		return bytes.Compare(reports[unique[a]].ID[:], reports[unique[b]].ID[:]) < 0
	})
	return fresh, unique
}

// idRows is the part of a query result markFresh reads; database/sql's
// and pgx's rows both have it.
type idRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// markFresh reads the ids an INSERT … RETURNING id returned and marks those
// reports of chunk fresh. The caller closes rows.
func markFresh(rows idRows, reports []Report, chunk []int, fresh []bool) error {
	byID := make(map[[16]byte]int, len(chunk))
	for _, i := range chunk {
		byID[reports[i].ID] = i
	}
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if len(id) != 16 {
			return fmt.Errorf("insert returned an id of %d bytes", len(id))
		}
		i, ok := byID[[16]byte(id)]
		if !ok {
			return fmt.Errorf("insert returned an id it was not given")
		}
		fresh[i] = true
	}
	return rows.Err()
}
