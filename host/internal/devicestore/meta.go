package devicestore

import (
	"context"
	"database/sql"
	"time"

	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// Campaign is a campaign config the device verified and pinned under its
// id.
type Campaign struct {
	ID      string
	Spec    []byte // JSON
	Fetched time.Time
	// Version is the config's version under its id.
	Version uint32
	// Digest is the question digest of Spec (the host computes it); nil
	// on a row cached before it was recorded.
	Digest []byte
	// Served: the aggregator's last campaign list had the id.
	Served bool
	// RefusedAt is when the device last refused a different config under
	// this id and version (zero: never).
	RefusedAt time.Time
}

// CampaignSync is what one fetch of the aggregator's campaign list changes.
type CampaignSync struct {
	// Put are the configs to pin: new ids, and higher versions of known
	// ones, replacing the pinned config.
	Put []Campaign
	// Refused are the known ids under which the aggregator served another
	// config without a higher version; their pinned config stays.
	Refused []string
	// Served are all the ids the aggregator served (Put, Refused and
	// unchanged ones); every other pinned campaign is marked not served.
	Served []string
	// Meta are named values (as SetMeta's) the fetch brought, written in
	// its transaction: the keys fetched with the list and the time of the
	// sync commit with it, one commit instead of three.
	Meta map[string][]byte
}

// SyncCampaigns applies one fetch in one transaction, and binds granted
// campaign consents that have no question digest yet to the digest of the
// config now pinned for their id (see BindConsents).
func (s *Store) SyncCampaigns(ctx context.Context, sync CampaignSync, now time.Time) error {
	return s.tx(ctx, "sync_campaigns", func(tx *sql.Tx) error {
		for k, v := range sync.Meta {
			if err := setMeta(ctx, tx, k, v); err != nil {
				return err
			}
		}
		for _, c := range sync.Put {
			if _, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, spec, fetched_at, version, digest, served, refused_at)
				VALUES (?, ?, ?, ?, ?, 1, 0) ON CONFLICT (id) DO UPDATE SET spec = excluded.spec, fetched_at = excluded.fetched_at,
				version = excluded.version, digest = excluded.digest, served = 1, refused_at = 0`,
				c.ID, c.Spec, ms(c.Fetched), c.Version, c.Digest); err != nil {
				return err
			}
		}
		for _, id := range sync.Refused {
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET refused_at = ? WHERE id = ?`, ms(now), id); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET served = 0`); err != nil {
			return err
		}
		for _, id := range sync.Served {
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET served = 1, fetched_at = ? WHERE id = ?`, ms(now), id); err != nil {
				return err
			}
		}
		return bindConsents(ctx, tx)
	})
}

// SetCampaignDigests records the question digest of pinned campaigns
// cached before digests were (by id), and binds unbound consents to them.
// With no digests to record and no consent to bind, as every open but a
// legacy database's finds, it only reads.
func (s *Store) SetCampaignDigests(ctx context.Context, digests map[string][]byte) error {
	set := func(tx *sql.Tx) error {
		for id, d := range digests {
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET digest = ? WHERE id = ? AND digest IS NULL`, d, id); err != nil {
				return err
			}
		}
		return bindConsents(ctx, tx)
	}
	if len(digests) > 0 {
		return s.tx(ctx, "set_campaign_digests", set)
	}
	return s.txIf(ctx, "set_campaign_digests", `SELECT EXISTS (SELECT 1 FROM consent c JOIN campaigns k ON c.purpose = 'campaign:' || k.id
		WHERE c.granted AND c.digest IS NULL AND k.digest IS NOT NULL)`, nil, set)
}

// bindConsents binds every granted campaign consent without a question
// digest — given before the device knew the campaign, or before digests
// were recorded — to the digest of the config pinned for its id.
func bindConsents(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE consent SET digest =
			(SELECT k.digest FROM campaigns k WHERE 'campaign:' || k.id = consent.purpose)
		WHERE granted AND digest IS NULL AND purpose LIKE 'campaign:%'`)
	return err
}

// Campaigns lists the pinned campaigns by id, served or not.
func (s *Store) Campaigns(ctx context.Context) ([]Campaign, error) {
	var out []Campaign
	err := s.read("list_campaigns", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT `+campaignColumns+` FROM campaigns ORDER BY id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanCampaign(rows)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// CampaignByID returns the campaign pinned under id (ErrNotFound if none):
// one row, for a caller that needs one campaign, not the list.
func (s *Store) CampaignByID(ctx context.Context, id string) (Campaign, error) {
	var c Campaign
	err := s.read("read_campaign", func(q sqlitedb.Querier) error {
		var err error
		c, err = scanCampaign(q.QueryRowContext(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = ?`, id))
		if err == sql.ErrNoRows {
			return ErrNotFound
		}
		return err
	})
	return c, err
}

// campaignColumns are what scanCampaign reads.
const campaignColumns = `id, spec, fetched_at, version, digest, served, refused_at`

func scanCampaign(row interface{ Scan(...any) error }) (Campaign, error) {
	var c Campaign
	var at, refused int64
	if err := row.Scan(&c.ID, &c.Spec, &at, &c.Version, &c.Digest, &c.Served, &refused); err != nil {
		return Campaign{}, err
	}
	c.Fetched, c.RefusedAt = fromMS(at), fromMS(refused)
	return c, nil
}

// Meta reads a small named value (ErrNotFound if unset).
func (s *Store) Meta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.read("read_meta", func(q sqlitedb.Querier) error {
		err := q.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
		if err == sql.ErrNoRows {
			return ErrNotFound
		}
		return err
	})
	return v, err
}

// SetMeta writes a small named value.
func (s *Store) SetMeta(ctx context.Context, key string, value []byte) error {
	return s.tx(ctx, "write_meta", func(tx *sql.Tx) error { return setMeta(ctx, tx, key, value) })
}

func setMeta(ctx context.Context, tx *sql.Tx, key string, value []byte) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}
