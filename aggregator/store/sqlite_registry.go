package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// The registry tables of SQLite: keys, campaigns, releases, tokens and
// secrets. Times are stored as Unix nanoseconds.

func nanos(t time.Time) int64     { return t.UnixNano() }
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// A token's expiry is 0 for never.
func expiryNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return nanos(t)
}

func fromExpiryNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return fromNanos(n)
}

// Keys implements Store.
func (s *SQLite) Keys(ctx context.Context) ([]Key, error) {
	var keys []Key
	err := s.tx(ctx, "keys", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, private, state, created_at, changed_at FROM hpke_keys ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k Key
			var created, changed int64
			if err := rows.Scan(&k.ID, &k.Private, &k.State, &created, &changed); err != nil {
				return err
			}
			k.CreatedAt, k.ChangedAt = fromNanos(created), fromNanos(changed)
			keys = append(keys, k)
		}
		return rows.Err()
	})
	return keys, err
}

// AddKey implements Store.
func (s *SQLite) AddKey(ctx context.Context, k Key) error {
	return s.tx(ctx, "add_key", func(tx *sql.Tx) error { return sqliteAddKey(ctx, tx, k) })
}

// SetKeyState implements Store.
func (s *SQLite) SetKeyState(ctx context.Context, id uint8, state KeyState, at time.Time) error {
	return s.tx(ctx, "set_key_state", func(tx *sql.Tx) error { return sqliteSetKeyState(ctx, tx, id, state, at) })
}

// ReplaceKey implements Store.
func (s *SQLite) ReplaceKey(ctx context.Context, k Key, old uint8) error {
	return s.tx(ctx, "replace_key", func(tx *sql.Tx) error {
		if err := sqliteAddKey(ctx, tx, k); err != nil {
			return err
		}
		return sqliteSetKeyState(ctx, tx, old, KeyExpired, k.CreatedAt)
	})
}

func sqliteAddKey(ctx context.Context, tx *sql.Tx, k Key) error {
	if !k.State.IsValid() {
		return fmt.Errorf("store: add key: state %q", k.State)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO hpke_keys (id, private, state, created_at, changed_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET private = excluded.private, state = excluded.state,
			created_at = excluded.created_at, changed_at = excluded.changed_at
		WHERE hpke_keys.state = 'expired'`, k.ID, k.Private, k.State, nanos(k.CreatedAt), nanos(k.ChangedAt))
	return conflictUnlessOne(res, err, fmt.Sprintf("key %d", k.ID))
}

// sqliteSetKeyState runs in a write transaction, so the check that another
// key stays active cannot race another writer's.
func sqliteSetKeyState(ctx context.Context, tx *sql.Tx, id uint8, state KeyState, at time.Time) error {
	var was sql.NullString
	var others int
	if err := tx.QueryRowContext(ctx, `SELECT (SELECT state FROM hpke_keys WHERE id = ?),
		(SELECT count(*) FROM hpke_keys WHERE state = 'active' AND id != ?)`, id, id).Scan(&was, &others); err != nil {
		return err
	}
	if err := keyChange(was.Valid, KeyState(was.String), others, state, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE hpke_keys SET state = ?, changed_at = ? WHERE id = ?`, state, nanos(at), id)
	return err
}

// sqliteWatchEvery is how often WatchKeys polls: a key expired by another
// process is refused within it.
const sqliteWatchEvery = 200 * time.Millisecond

// WatchKeys implements Store. It polls PRAGMA data_version on a connection
// of its own, which changes when any other connection commits (a memory
// read while nothing does); after a commit it compares the key rows, so
// report inserts do not count as key changes.
func (s *SQLite) WatchKeys(ctx context.Context, changed func()) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: watch keys: %w", mapClosed(err))
	}
	defer conn.Close()
	tick := time.NewTicker(sqliteWatchEvery)
	defer tick.Stop()
	version, keys := int64(-1), ""
	for first := true; ; first = false {
		var v int64
		if err := conn.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
			return fmt.Errorf("store: watch keys: %w", mapClosed(err))
		}
		if v != version {
			version = v
			var now string
			if err := conn.QueryRowContext(ctx, `SELECT coalesce(group_concat(id || '/' || state || '/' || created_at || '/' || changed_at || '/' || hex(private), ','), '')
				FROM (SELECT * FROM hpke_keys ORDER BY id)`).Scan(&now); err != nil {
				return fmt.Errorf("store: watch keys: %w", mapClosed(err))
			}
			if first || now != keys {
				keys = now
				changed()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// Rewrap implements Store.
func (s *SQLite) Rewrap(ctx context.Context, key func(uint8, []byte) ([]byte, error), secret func(string, []byte) ([]byte, error)) error {
	return s.tx(ctx, "rewrap", func(tx *sql.Tx) error {
		keys, err := sqliteRows[uint8](ctx, tx, `SELECT id, private FROM hpke_keys`)
		if err != nil {
			return err
		}
		if err := rewrite(keys, key, func(id uint8, v []byte) error {
			_, err := tx.ExecContext(ctx, `UPDATE hpke_keys SET private = ? WHERE id = ?`, v, id)
			return err
		}); err != nil {
			return err
		}
		secrets, err := sqliteRows[string](ctx, tx, `SELECT name, value FROM secrets`)
		if err != nil {
			return err
		}
		return rewrite(secrets, secret, func(name string, v []byte) error {
			_, err := tx.ExecContext(ctx, `UPDATE secrets SET value = ? WHERE name = ?`, v, name)
			return err
		})
	})
}

func sqliteRows[N any](ctx context.Context, tx *sql.Tx, query string) ([]stored[N], error) {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var got []stored[N]
	for rows.Next() {
		var r stored[N]
		if err := rows.Scan(&r.Name, &r.Value); err != nil {
			return nil, err
		}
		got = append(got, r)
	}
	return got, rows.Err()
}

// AddCampaign implements Store.
func (s *SQLite) AddCampaign(ctx context.Context, c Campaign) error {
	return s.tx(ctx, "add_campaign", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, tenant, config, signature, created_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, c.ID, c.Tenant, c.Config, c.Signature, nanos(c.CreatedAt))
		return conflictUnlessOne(res, err, fmt.Sprintf("campaign %q", c.ID))
	})
}

// Campaigns implements Store.
func (s *SQLite) Campaigns(ctx context.Context) ([]Campaign, error) {
	var list []Campaign
	err := s.tx(ctx, "campaigns", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, tenant, config, signature, created_at, state, state_changed_at FROM campaigns ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Campaign
			var created, changed int64
			if err := rows.Scan(&c.ID, &c.Tenant, &c.Config, &c.Signature, &created, &c.State, &changed); err != nil {
				return err
			}
			c.CreatedAt = fromNanos(created)
			if changed != 0 {
				c.StateChangedAt = fromNanos(changed)
			}
			list = append(list, c)
		}
		return rows.Err()
	})
	return list, err
}

// SetCampaignState implements Store.
func (s *SQLite) SetCampaignState(ctx context.Context, id string, from []CampaignState, state CampaignState, at time.Time) error {
	return s.tx(ctx, "set_campaign_state", func(tx *sql.Tx) error {
		var now CampaignState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM campaigns WHERE id = ?`, id).Scan(&now); err != nil {
			return campaignMissing(err, sql.ErrNoRows, id)
		}
		if err := checkCampaignMove(id, now, from); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = ?, state_changed_at = ? WHERE id = ?`, state, nanos(at), id)
		return err
	})
}

// Release implements Store.
func (s *SQLite) Release(ctx context.Context, r Release) (Release, error) {
	var got Release
	err := s.tx(ctx, "release", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO releases (campaign, epoch, released_at, body) VALUES (?, ?, ?, ?)
			ON CONFLICT (campaign, epoch) DO NOTHING`, r.Campaign, r.Epoch, nanos(r.ReleasedAt), r.Body); err != nil {
			return err
		}
		var at int64
		got = Release{Campaign: r.Campaign, Epoch: r.Epoch}
		if err := tx.QueryRowContext(ctx, `SELECT released_at, body FROM releases WHERE campaign = ? AND epoch = ?`,
			r.Campaign, r.Epoch).Scan(&at, &got.Body); err != nil {
			return err
		}
		got.ReleasedAt = fromNanos(at)
		return nil
	})
	return got, err
}

// Releases implements Store.
func (s *SQLite) Releases(ctx context.Context, campaign string) ([]Release, error) {
	var list []Release
	err := s.tx(ctx, "releases", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT epoch, released_at, body FROM releases WHERE campaign = ? ORDER BY epoch`, campaign)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r := Release{Campaign: campaign}
			var at int64
			if err := rows.Scan(&r.Epoch, &at, &r.Body); err != nil {
				return err
			}
			r.ReleasedAt = fromNanos(at)
			list = append(list, r)
		}
		return rows.Err()
	})
	return list, err
}

// AddToken implements Store.
func (s *SQLite) AddToken(ctx context.Context, t Token) error {
	return s.tx(ctx, "add_token", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO tokens (hash, role, tenant, name, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (hash) DO NOTHING`, t.Hash, t.Role, t.Tenant, t.Name, nanos(t.CreatedAt), expiryNanos(t.ExpiresAt))
		return conflictUnlessOne(res, err, "token")
	})
}

// Token implements Store.
func (s *SQLite) Token(ctx context.Context, hash []byte) (Token, error) {
	var t Token
	err := s.tx(ctx, "token", func(tx *sql.Tx) error {
		var created, expires int64
		err := tx.QueryRowContext(ctx, `SELECT hash, role, tenant, name, created_at, expires_at FROM tokens WHERE hash = ?`, hash).
			Scan(&t.Hash, &t.Role, &t.Tenant, &t.Name, &created, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: token", ErrNotFound)
		}
		t.CreatedAt, t.ExpiresAt = fromNanos(created), fromExpiryNanos(expires)
		return err
	})
	return t, err
}

// Tokens implements Store.
func (s *SQLite) Tokens(ctx context.Context) ([]Token, error) {
	var list []Token
	err := s.tx(ctx, "tokens", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT hash, role, tenant, name, created_at, expires_at FROM tokens ORDER BY created_at, hash`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t Token
			var created, expires int64
			if err := rows.Scan(&t.Hash, &t.Role, &t.Tenant, &t.Name, &created, &expires); err != nil {
				return err
			}
			t.CreatedAt, t.ExpiresAt = fromNanos(created), fromExpiryNanos(expires)
			list = append(list, t)
		}
		return rows.Err()
	})
	return list, err
}

// DeleteToken implements Store.
func (s *SQLite) DeleteToken(ctx context.Context, hash []byte) error {
	return s.tx(ctx, "delete_token", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, hash)
		return notFoundUnlessOne(res, err, "token")
	})
}

// Secret implements Store.
func (s *SQLite) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var got []byte
	err := s.tx(ctx, "secret", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&got)
	})
	return bytes.Clone(got), err
}

// Secrets implements Store.
func (s *SQLite) Secrets(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, value FROM secrets WHERE substr(name, 1, ?) = ?`, len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		out[name] = bytes.Clone(value)
	}
	return out, rows.Err()
}

func conflictUnlessOne(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%w: %s", ErrConflict, what)
	}
	return nil
}

func notFoundUnlessOne(res sql.Result, err error, what string) error {
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != 1 {
		return fmt.Errorf("%w: %s", ErrNotFound, what)
	}
	return nil
}
