package store

import (
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

// AddKey implements Store.
func (s *Postgres) AddKey(ctx context.Context, k Key) error {
	if !k.State.IsValid() {
		return fmt.Errorf("store: add key: state %q", k.State)
	}
	return s.tx(ctx, "add_key", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO hpke_keys (id, private, state, created_at, changed_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET private = excluded.private, state = excluded.state,
				created_at = excluded.created_at, changed_at = excluded.changed_at
			WHERE hpke_keys.state = 'expired'`, int16(k.ID), k.Private, string(k.State), k.CreatedAt, k.ChangedAt)
		return pgOne(tag, err, ErrConflict, fmt.Sprintf("key %d", k.ID))
	})
}

// SetKeyState implements Store.
func (s *Postgres) SetKeyState(ctx context.Context, id uint8, state KeyState, at time.Time) error {
	if !state.IsValid() {
		return fmt.Errorf("store: set key state: %q", state)
	}
	return s.tx(ctx, "set_key_state", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE hpke_keys SET state = $1, changed_at = $2 WHERE id = $3`, string(state), at, int16(id))
		return pgOne(tag, err, ErrNotFound, fmt.Sprintf("key %d", id))
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
		rows, err := tx.Query(ctx, `SELECT id, tenant, config, signature, created_at FROM campaigns ORDER BY id`)
		if err != nil {
			return err
		}
		var c Campaign
		_, err = pgx.ForEachRow(rows, []any{&c.ID, &c.Tenant, &c.Config, &c.Signature, &c.CreatedAt}, func() error {
			c.CreatedAt = c.CreatedAt.UTC()
			list = append(list, c)
			c = Campaign{}
			return nil
		})
		return err
	})
	return list, err
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

func pgOne(tag pgconn.CommandTag, err error, sentinel error, what string) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("%w: %s", sentinel, what)
	}
	return nil
}
