package devicestore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Plugin is an installed plugin as stored.
type Plugin struct {
	Name       string
	Version    string
	Author     string // author key text; "" for an unsigned development plugin
	AuthorName string // the trust store's comment for the key
	Manifest   []byte // the manifest file as installed (signed or not)
	// Module is the SHA-256 of the module, whose bytes the device keeps in
	// a file named by it; zero for a row from before migration 9 that
	// still holds them (read with InlineWasm).
	Module     [sha256.Size]byte
	Categories []uint32
	Retention  time.Duration
	Installed  time.Time
}

// PutPlugin installs p, replacing an installed plugin of the same name (an
// upgrade keeps its events, profile and consent).
func (s *Store) PutPlugin(ctx context.Context, p Plugin) error {
	return s.tx(ctx, "put_plugin", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO plugins (name, version, author, author_name, manifest, retention_ms, installed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET version = excluded.version, author = excluded.author,
				author_name = excluded.author_name, manifest = excluded.manifest,
				retention_ms = excluded.retention_ms, installed_at = excluded.installed_at`,
			p.Name, p.Version, p.Author, p.AuthorName, nonNil(p.Manifest), p.Retention.Milliseconds(), ms(p.Installed))
		if err != nil {
			return err
		}
		// The module's row is its own (migration 8) and names its file
		// (migration 9); the bytes are not in the database.
		if _, err := tx.ExecContext(ctx, `INSERT INTO plugin_modules (plugin, wasm, sha256) VALUES (?, x'', ?)
			ON CONFLICT (plugin) DO UPDATE SET wasm = x'', sha256 = excluded.sha256`, p.Name, p.Module[:]); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM plugin_categories WHERE plugin = ?`, p.Name); err != nil {
			return err
		}
		for _, c := range p.Categories {
			if _, err := tx.ExecContext(ctx, `INSERT INTO plugin_categories (plugin, category) VALUES (?, ?)`, p.Name, c); err != nil {
				return err
			}
		}
		return nil
	})
}

// Plugins lists installed plugins by name, without their modules: one
// statement, with each plugin's categories in order as text, so that it
// needs no transaction and takes no write lock.
func (s *Store) Plugins(ctx context.Context) ([]Plugin, error) {
	var out []Plugin
	err := s.read("list_plugins", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT name, version, author, author_name, manifest, retention_ms, installed_at, coalesce(m.sha256, x''),
				(SELECT coalesce(group_concat(category, ',' ORDER BY category), '') FROM plugin_categories c WHERE c.plugin = name)
			FROM plugins LEFT JOIN plugin_modules m ON m.plugin = name ORDER BY name`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p Plugin
			var ret, at int64
			var digest []byte
			var cats string
			if err := rows.Scan(&p.Name, &p.Version, &p.Author, &p.AuthorName, &p.Manifest, &ret, &at, &digest, &cats); err != nil {
				return err
			}
			copy(p.Module[:], digest) // empty: the bytes are still in the row
			p.Retention, p.Installed = time.Duration(ret)*time.Millisecond, fromMS(at)
			if p.Categories, err = parseCategories(cats); err != nil {
				return fmt.Errorf("plugin %q: %w", p.Name, err)
			}
			out = append(out, p)
		}
		return rows.Err()
	})
	return out, err
}

// parseCategories reads Plugins' comma-separated category list (nil for
// none).
func parseCategories(list string) ([]uint32, error) {
	if list == "" {
		return nil, nil
	}
	var out []uint32
	for f := range strings.SplitSeq(list, ",") {
		c, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("category list %q: %w", list, err)
		}
		out = append(out, uint32(c))
	}
	return out, nil
}

// InlineWasm returns the module bytes a plugin's row from before
// migration 9 still holds (see Plugin.Module), empty once moved out.
func (s *Store) InlineWasm(ctx context.Context, name string) ([]byte, error) {
	var wasm []byte
	err := s.read("read_wasm", func(q sqlitedb.Querier) error {
		err := q.QueryRowContext(ctx, `SELECT wasm FROM plugin_modules WHERE plugin = ?`, name).Scan(&wasm)
		if err == sql.ErrNoRows {
			return ErrNotFound
		}
		return err
	})
	return wasm, err
}

// MoveModuleOut records that a plugin's module, whose bytes its row held,
// is now in the file named by digest, and drops the bytes from the row.
// The file must be durable before: the row is then all that names it.
func (s *Store) MoveModuleOut(ctx context.Context, name string, digest [sha256.Size]byte) error {
	return s.tx(ctx, "move_module_out", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE plugin_modules SET wasm = x'', sha256 = ? WHERE plugin = ?`, digest[:], name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// SetRetention changes how long a plugin's events are kept.
func (s *Store) SetRetention(ctx context.Context, name string, d time.Duration) error {
	return s.tx(ctx, "set_retention", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE plugins SET retention_ms = ? WHERE name = ?`, d.Milliseconds(), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// DeletePlugin uninstalls a plugin and erases everything derived from it:
// its events, its profile rows and queued reports about its categories.
// Its consent history stays: it is the owner's record, not their data.
func (s *Store) DeletePlugin(ctx context.Context, name string, now time.Time) error {
	return s.tx(ctx, "delete_plugin", func(tx *sql.Tx) error {
		if err := erasePlugin(ctx, tx, name, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM plugins WHERE name = ?`, name); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM consent WHERE purpose = ?`, "plugin:"+name)
		return err
	})
}

// erasePlugin deletes a plugin's events, profile and the queued reports
// that may derive from them, and rewinds its scoring position.
func erasePlugin(ctx context.Context, tx *sql.Tx, name string, now time.Time) error {
	if err := dropQueued(ctx, tx, `(category IN (SELECT category FROM plugin_categories WHERE plugin = ?) OR category = 0)`, now, DropPluginErased, name); err != nil {
		return err
	}
	for _, q := range []string{
		`DELETE FROM events WHERE plugin = ?`,
		`DELETE FROM profile WHERE plugin = ?`,
		`UPDATE plugins SET scored_seq = 0 WHERE name = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, name); err != nil {
			return err
		}
	}
	return nil
}

// nonNil keeps an empty blob from becoming NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
