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
	if !k.State.IsValid() {
		return fmt.Errorf("store: add key: state %q", k.State)
	}
	return s.tx(ctx, "add_key", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO hpke_keys (id, private, state, created_at, changed_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET private = excluded.private, state = excluded.state,
				created_at = excluded.created_at, changed_at = excluded.changed_at
			WHERE hpke_keys.state = 'expired'`, k.ID, k.Private, k.State, nanos(k.CreatedAt), nanos(k.ChangedAt))
		return conflictUnlessOne(res, err, fmt.Sprintf("key %d", k.ID))
	})
}

// SetKeyState implements Store.
func (s *SQLite) SetKeyState(ctx context.Context, id uint8, state KeyState, at time.Time) error {
	if !state.IsValid() {
		return fmt.Errorf("store: set key state: %q", state)
	}
	return s.tx(ctx, "set_key_state", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE hpke_keys SET state = ?, changed_at = ? WHERE id = ?`, state, nanos(at), id)
		return notFoundUnlessOne(res, err, fmt.Sprintf("key %d", id))
	})
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
		rows, err := tx.QueryContext(ctx, `SELECT id, tenant, config, signature, created_at FROM campaigns ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Campaign
			var created int64
			if err := rows.Scan(&c.ID, &c.Tenant, &c.Config, &c.Signature, &created); err != nil {
				return err
			}
			c.CreatedAt = fromNanos(created)
			list = append(list, c)
		}
		return rows.Err()
	})
	return list, err
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
