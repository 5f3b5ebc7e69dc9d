// Package taxonomy loads an audience taxonomy in the IAB Tech Lab Audience
// Taxonomy 1.1 TSV layout. Wisp scores the Interest subtree; the unique ids
// are what travel in campaigns, reports and OpenRTB segments (segtax 4).
package taxonomy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Category is one node of the taxonomy.
type Category struct {
	ID     uint32
	Parent uint32   // 0 for a root
	Path   []string // tiers from the root, e.g. [Interest, Sports, Cycling]
}

// Name is the category's human-readable path, e.g. "Interest | Sports | Cycling".
func (c Category) Name() string { return strings.Join(c.Path, " | ") }

// Taxonomy is an immutable set of categories.
type Taxonomy struct {
	byID map[uint32]Category
}

// ErrFormat reports a file that is not in the expected TSV layout.
var ErrFormat = errors.New("taxonomy: malformed file")

// Parse reads a taxonomy TSV: a header row, then rows of (empty), unique id,
// parent id, condensed name, tier 1 … tier 6, extension notes.
func Parse(r io.Reader) (*Taxonomy, error) {
	t := &Taxonomy{byID: map[uint32]Category{}}
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		if line == 1 {
			continue // header
		}
		row := strings.Split(strings.TrimRight(sc.Text(), "\r"), "\t")
		if len(row) < 5 {
			return nil, fmt.Errorf("%w: line %d has %d columns", ErrFormat, line, len(row))
		}
		id, err := strconv.ParseUint(row[1], 10, 32)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("%w: line %d: unique id %q", ErrFormat, line, row[1])
		}
		var parent uint64
		if row[2] != "" {
			if parent, err = strconv.ParseUint(row[2], 10, 32); err != nil {
				return nil, fmt.Errorf("%w: line %d: parent id %q", ErrFormat, line, row[2])
			}
		}
		var path []string
		for _, tier := range row[4:min(len(row), 10)] {
			if tier = strings.TrimSpace(tier); tier != "" {
				path = append(path, tier)
			}
		}
		if len(path) == 0 {
			return nil, fmt.Errorf("%w: line %d: no tier names", ErrFormat, line)
		}
		if _, dup := t.byID[uint32(id)]; dup {
			return nil, fmt.Errorf("%w: line %d: duplicate id %d", ErrFormat, line, id)
		}
		t.byID[uint32(id)] = Category{ID: uint32(id), Parent: uint32(parent), Path: path}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("taxonomy: read: %w", err)
	}
	for _, c := range t.byID {
		if _, ok := t.byID[c.Parent]; c.Parent != 0 && !ok {
			return nil, fmt.Errorf("%w: id %d has unknown parent %d", ErrFormat, c.ID, c.Parent)
		}
	}
	if err := t.checkRooted(); err != nil {
		return nil, err
	}
	return t, nil
}

// checkRooted refuses parent links that loop: whoever walks a category's
// ancestors (the aggregator's special-category policy does) must reach a
// root. Each category is walked once: a walk stops at one already known
// to be rooted.
func (t *Taxonomy) checkRooted() error {
	rooted := make(map[uint32]bool, len(t.byID))
	for id := range t.byID {
		onPath := map[uint32]bool{}
		for at := id; at != 0 && !rooted[at]; at = t.byID[at].Parent {
			if onPath[at] {
				return fmt.Errorf("%w: id %d is its own ancestor", ErrFormat, at)
			}
			onPath[at] = true
		}
		for p := range onPath {
			rooted[p] = true
		}
	}
	return nil
}

// ParseBytes is Parse on an in-memory file.
func ParseBytes(b []byte) (*Taxonomy, error) { return Parse(bytes.NewReader(b)) }

// Lookup returns the category with the given id.
func (t *Taxonomy) Lookup(id uint32) (Category, bool) {
	c, ok := t.byID[id]
	return c, ok
}

// Len is the number of categories.
func (t *Taxonomy) Len() int { return len(t.byID) }

// Under returns the categories whose first tier is root (e.g. "Interest"),
// sorted by id.
func (t *Taxonomy) Under(root string) []Category {
	var out []Category
	for _, c := range t.byID {
		if c.Path[0] == root {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
