package store

import (
	"bytes"
	"fmt"
	"slices"
)

// dedupe marks every report whose id appeared earlier in the batch as a
// replay (fresh false) and returns the indexes of the first occurrences,
// sorted by id so that concurrent transactions lock rows in one order and
// cannot deadlock.
func dedupe(reports []Report) (fresh []bool, unique []int) {
	return dedupeIDs(len(reports), func(i int) ReportID { return reports[i].ID })
}

// dedupeIDs is dedupe over any n rows with the ids id(i). Sorting by id
// and then index puts the repeats of an id right after its first
// occurrence, so no set of the ids seen is needed (it cost as much as the
// sort at 4,000 reports).
func dedupeIDs(n int, id func(i int) ReportID) (fresh []bool, unique []int) {
	fresh = make([]bool, n)
	type row struct {
		id ReportID
		i  int
	}
	rows := make([]row, n)
	for i := range rows {
		rows[i] = row{id(i), i}
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := bytes.Compare(a.id[:], b.id[:]); c != 0 {
			return c
		}
		return a.i - b.i
	})
	unique = make([]int, 0, n)
	for k, r := range rows {
		if k == 0 || r.id != rows[k-1].id {
			unique = append(unique, r.i)
		}
	}
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
