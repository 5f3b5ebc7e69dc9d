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
	return dedupeIDs(len(reports), func(i int) ReportID { return reports[i].ID })
}

// dedupeIDs is dedupe over any n rows with the ids id(i).
func dedupeIDs(n int, id func(i int) ReportID) (fresh []bool, unique []int) {
	fresh = make([]bool, n)
	seen := make(map[ReportID]struct{}, n)
	for i := range n {
		if _, dup := seen[id(i)]; dup {
			continue
		}
		seen[id(i)] = struct{}{}
		unique = append(unique, i)
	}
	sort.Slice(unique, func(a, b int) bool {
		x, y := id(unique[a]), id(unique[b])
		return bytes.Compare(x[:], y[:]) < 0
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
	return markFreshIDs(rows, func(i int) ReportID { return reports[i].ID }, chunk, fresh)
}

// markFreshIDs is markFresh over any rows with the ids id(i).
func markFreshIDs(rows idRows, idOf func(i int) ReportID, chunk []int, fresh []bool) error {
	byID := make(map[ReportID]int, len(chunk))
	for _, i := range chunk {
		byID[idOf(i)] = i
	}
	for rows.Next() {
		var id []byte
		if err := rows.Scan(&id); err != nil {
			return err
		}
		if len(id) != 16 {
			return fmt.Errorf("insert returned an id of %d bytes", len(id))
		}
		i, ok := byID[ReportID(id)]
		if !ok {
			return fmt.Errorf("insert returned an id it was not given")
		}
		fresh[i] = true
	}
	return rows.Err()
}
