package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The registry tables of PostgreSQL: keys, campaigns, releases, tokens and
// secrets.

// Keys implements Store.
func (s *Postgres) Keys(ctx context.Context) ([]Key, error) {
	var keys []Key
	err := s.tx(ctx, "keys", func(tx pgx.Tx) error {
		keys = nil
		rows, err := tx.Query(ctx, `SELECT id, private, state, created_at, changed_at FROM hpke_keys ORDER BY id`)
		if err != nil {
			return err
		}
		var k Key
		var id int16
		_, err = pgx.ForEachRow(rows, []any{&id, &k.Private, &k.State, &k.CreatedAt, &k.ChangedAt}, func() error {
			k.ID = uint8(id)
			k.CreatedAt, k.ChangedAt = k.CreatedAt.UTC(), k.ChangedAt.UTC()
			keys = append(keys, k)
			k.Private = nil
			return nil
		})
		return err
	})
	return keys, err
}

// keysChannel is the NOTIFY channel of key changes; the payload is the
// schema, so deployments sharing a database hear only their own.
const keysChannel = "wisp_hpke_keys"

// keysLock is the advisory lock key that serializes key changes, so two
// at once cannot both leave the other as the only active key and expire it.
const keysLock = 0x77697370_6b657973 // "wispkeys"

// AddKey implements Store.
func (s *Postgres) AddKey(ctx context.Context, k Key) error {
	return s.keysTx(ctx, "add_key", func(tx pgx.Tx) error { return pgAddKey(ctx, tx, k) })
}

// SetKeyState implements Store.
func (s *Postgres) SetKeyState(ctx context.Context, id uint8, state KeyState, at time.Time) error {
	return s.keysTx(ctx, "set_key_state", func(tx pgx.Tx) error { return pgSetKeyState(ctx, tx, id, state, at) })
}

// ReplaceKey implements Store.
func (s *Postgres) ReplaceKey(ctx context.Context, k Key, old uint8) error {
	return s.keysTx(ctx, "replace_key", func(tx pgx.Tx) error {
		if err := pgAddKey(ctx, tx, k); err != nil {
			return err
		}
		return pgSetKeyState(ctx, tx, old, KeyExpired, k.CreatedAt)
	})
}

// keysTx runs a key change: under keysLock, and notifying every watching
// node when it commits (NOTIFY is transactional).
func (s *Postgres) keysTx(ctx context.Context, name string, fn func(pgx.Tx) error) error {
	return s.tx(ctx, name, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(keysLock)); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, coalesce(current_schema(), ''))`, keysChannel)
		return err
	})
}

func pgAddKey(ctx context.Context, tx pgx.Tx, k Key) error {
	if !k.State.IsValid() {
		return fmt.Errorf("store: add key: state %q", k.State)
	}
	tag, err := tx.Exec(ctx, `INSERT INTO hpke_keys (id, private, state, created_at, changed_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET private = excluded.private, state = excluded.state,
			created_at = excluded.created_at, changed_at = excluded.changed_at
		WHERE hpke_keys.state = 'expired'`, int16(k.ID), k.Private, string(k.State), k.CreatedAt, k.ChangedAt)
	return pgOne(tag, err, ErrConflict, fmt.Sprintf("key %d", k.ID))
}

func pgSetKeyState(ctx context.Context, tx pgx.Tx, id uint8, state KeyState, at time.Time) error {
	var was *string
	var others int
	if err := tx.QueryRow(ctx, `SELECT (SELECT state FROM hpke_keys WHERE id = $1),
		(SELECT count(*) FROM hpke_keys WHERE state = 'active' AND id != $1)`, int16(id)).Scan(&was, &others); err != nil {
		return err
	}
	if err := keyChange(was != nil, KeyState(deref(was)), others, state, id); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE hpke_keys SET state = $1, changed_at = $2 WHERE id = $3`, string(state), at, int16(id))
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// WatchKeys implements Store with LISTEN on a connection of its own
// (outside the pool). A lost connection ends it with an error: the caller
// watches again, and changed runs again at that start, covering any
// notification missed meanwhile.
func (s *Postgres) WatchKeys(ctx context.Context, changed func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return fmt.Errorf("store: watch keys: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, `SELECT coalesce(current_schema(), '')`).Scan(&schema); err != nil {
		return fmt.Errorf("store: watch keys: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+keysChannel); err != nil {
		return fmt.Errorf("store: watch keys: %w", err)
	}
	changed()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("store: watch keys: %w", err)
		}
		if n.Payload == schema {
			changed()
		}
	}
}

// Rewrap implements Store; the rows are locked (FOR UPDATE), so a node
// rewrapping at the same time sees the rows already rewritten.
func (s *Postgres) Rewrap(ctx context.Context, key func(uint8, []byte) ([]byte, error), secret func(string, []byte) ([]byte, error)) error {
	return s.tx(ctx, "rewrap", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, private FROM hpke_keys ORDER BY id FOR UPDATE`)
		if err != nil {
			return err
		}
		keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[stored[int16]])
		if err != nil {
			return err
		}
		if err := rewrite(keys, func(id int16, v []byte) ([]byte, error) { return key(uint8(id), v) }, func(id int16, v []byte) error {
			_, err := tx.Exec(ctx, `UPDATE hpke_keys SET private = $1 WHERE id = $2`, v, id)
			return err
		}); err != nil {
			return err
		}
		if rows, err = tx.Query(ctx, `SELECT name, value FROM secrets ORDER BY name FOR UPDATE`); err != nil {
			return err
		}
		secrets, err := pgx.CollectRows(rows, pgx.RowToStructByPos[stored[string]])
		if err != nil {
			return err
		}
		return rewrite(secrets, secret, func(name string, v []byte) error {
			_, err := tx.Exec(ctx, `UPDATE secrets SET value = $1 WHERE name = $2`, v, name)
			return err
		})
	})
}

// AddCampaign implements Store.
func (s *Postgres) AddCampaign(ctx context.Context, c Campaign) error {
	return s.tx(ctx, "add_campaign", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO campaigns (id, tenant, config, signature, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO NOTHING`, c.ID, c.Tenant, c.Config, c.Signature, c.CreatedAt)
		return pgOne(tag, err, ErrConflict, fmt.Sprintf("campaign %q", c.ID))
	})
}

// Campaigns implements Store.
func (s *Postgres) Campaigns(ctx context.Context) ([]Campaign, error) {
	var list []Campaign
	err := s.tx(ctx, "campaigns", func(tx pgx.Tx) error {
		list = nil
		rows, err := tx.Query(ctx, `SELECT id, tenant, config, signature, created_at, state, state_changed_at FROM campaigns ORDER BY id`)
		if err != nil {
			return err
		}
		var c Campaign
		var changed *time.Time
		_, err = pgx.ForEachRow(rows, []any{&c.ID, &c.Tenant, &c.Config, &c.Signature, &c.CreatedAt, &c.State, &changed}, func() error {
			c.CreatedAt = c.CreatedAt.UTC()
			if changed != nil {
				c.StateChangedAt = changed.UTC()
			}
			list = append(list, c)
			c, changed = Campaign{}, nil
			return nil
		})
		return err
	})
	return list, err
}

// SetCampaignState implements Store.
func (s *Postgres) SetCampaignState(ctx context.Context, id string, from []CampaignState, state CampaignState, at time.Time) error {
	return s.tx(ctx, "set_campaign_state", func(tx pgx.Tx) error {
		var now CampaignState
		if err := tx.QueryRow(ctx, `SELECT state FROM campaigns WHERE id = $1 FOR UPDATE`, id).Scan(&now); err != nil {
			return campaignMissing(err, pgx.ErrNoRows, id)
		}
		if err := checkCampaignMove(id, now, from); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE campaigns SET state = $1, state_changed_at = $2 WHERE id = $3`, state, at, id)
		return err
	})
}

// Release implements Store.
func (s *Postgres) Release(ctx context.Context, r Release) (Release, error) {
	got := Release{Campaign: r.Campaign, Epoch: r.Epoch}
	err := s.tx(ctx, "release", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO releases (campaign, epoch, released_at, body) VALUES ($1, $2, $3, $4)
			ON CONFLICT (campaign, epoch) DO NOTHING`, r.Campaign, int64(r.Epoch), r.ReleasedAt, r.Body); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT released_at, body FROM releases WHERE campaign = $1 AND epoch = $2`,
			r.Campaign, int64(r.Epoch)).Scan(&got.ReleasedAt, &got.Body)
	})
	got.ReleasedAt = got.ReleasedAt.UTC()
	return got, err
}

// Releases implements Store.
func (s *Postgres) Releases(ctx context.Context, campaign string) ([]Release, error) {
	var list []Release
	err := s.tx(ctx, "releases", func(tx pgx.Tx) error {
		list = nil
		rows, err := tx.Query(ctx, `SELECT epoch, released_at, body FROM releases WHERE campaign = $1 ORDER BY epoch`, campaign)
		if err != nil {
			return err
		}
		var epoch int64
		var r Release
		_, err = pgx.ForEachRow(rows, []any{&epoch, &r.ReleasedAt, &r.Body}, func() error {
			list = append(list, Release{Campaign: campaign, Epoch: uint32(epoch), ReleasedAt: r.ReleasedAt.UTC(), Body: r.Body})
			r.Body = nil
			return nil
		})
		return err
	})
	return list, err
}

// AddToken implements Store.
func (s *Postgres) AddToken(ctx context.Context, t Token) error {
	return s.tx(ctx, "add_token", func(tx pgx.Tx) error {
		var expires *time.Time // NULL: never
		if !t.ExpiresAt.IsZero() {
			expires = &t.ExpiresAt
		}
		tag, err := tx.Exec(ctx, `INSERT INTO tokens (hash, role, tenant, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (hash) DO NOTHING`, t.Hash, t.Role, t.Tenant, t.Name, t.CreatedAt, expires)
		return pgOne(tag, err, ErrConflict, "token")
	})
}

// Token implements Store.
func (s *Postgres) Token(ctx context.Context, hash []byte) (Token, error) {
	var t Token
	err := s.tx(ctx, "token", func(tx pgx.Tx) error {
		var expires *time.Time
		err := tx.QueryRow(ctx, `SELECT hash, role, tenant, name, created_at, expires_at FROM tokens WHERE hash = $1`, hash).
			Scan(&t.Hash, &t.Role, &t.Tenant, &t.Name, &t.CreatedAt, &expires)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%w: token", ErrNotFound)
		}
		t.ExpiresAt = pgExpiry(expires)
		return err
	})
	t.CreatedAt = t.CreatedAt.UTC()
	return t, err
}

// Tokens implements Store.
func (s *Postgres) Tokens(ctx context.Context) ([]Token, error) {
	var list []Token
	err := s.tx(ctx, "tokens", func(tx pgx.Tx) error {
		list = nil
		rows, err := tx.Query(ctx, `SELECT hash, role, tenant, name, created_at, expires_at FROM tokens ORDER BY created_at, hash`)
		if err != nil {
			return err
		}
		var t Token
		var expires *time.Time
		_, err = pgx.ForEachRow(rows, []any{&t.Hash, &t.Role, &t.Tenant, &t.Name, &t.CreatedAt, &expires}, func() error {
			t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), pgExpiry(expires)
			list = append(list, t)
			t = Token{}
			return nil
		})
		return err
	})
	return list, err
}

// pgExpiry is a token's expires_at: NULL is never (the zero time).
func pgExpiry(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// DeleteToken implements Store.
func (s *Postgres) DeleteToken(ctx context.Context, hash []byte) error {
	return s.tx(ctx, "delete_token", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM tokens WHERE hash = $1`, hash)
		return pgOne(tag, err, ErrNotFound, "token")
	})
}

// Secret implements Store.
func (s *Postgres) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var got []byte
	err := s.tx(ctx, "secret", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&got)
	})
	return got, err
}

// Secrets implements Store.
func (s *Postgres) Secrets(ctx context.Context, prefix string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, value FROM secrets WHERE starts_with(name, $1)`, prefix)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	var name string
	var value []byte
	_, err = pgx.ForEachRow(rows, []any{&name, &value}, func() error { out[name] = bytes.Clone(value); return nil })
	return out, err
}

func pgOne(tag pgconn.CommandTag, err error, sentinel error, what string) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: %s", sentinel, what)
	}
	return nil
}
