package devicestore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/wisp-project/wisp/internal/sqlitedb"
)

// ConsentChange is one entry of the owner's consent history.
type ConsentChange struct {
	Purpose string // "plugin:<name>" or "campaign:<id>"
	Granted bool
	Erased  bool // the owner also asked to erase the data
	At      time.Time
}

// SetConsent records the owner's decision on purpose and appends it to the
// history. Granting a campaign binds the consent to the question digest of
// the config pinned for it (CampaignConsents). Revoking a campaign drops its queued reports; revoking a plugin
// drops queued reports about the plugin's categories (they may derive from
// its scores) and, with erase, the plugin's events and profile — all in
// the same transaction, so nothing revoked can be claimed by a sender
// afterwards.
func (s *Store) SetConsent(ctx context.Context, purpose string, granted, erase bool, now time.Time) error {
	return s.tx(ctx, "set_consent", func(tx *sql.Tx) error { return setConsent(ctx, tx, purpose, granted, erase, now) })
}

// GrantAll grants every purpose in one transaction, as SetConsent grants
// one: the owner's choices on one consent screen are recorded together or
// not at all.
func (s *Store) GrantAll(ctx context.Context, purposes []string, now time.Time) error {
	return s.tx(ctx, "set_consent", func(tx *sql.Tx) error {
		for _, p := range purposes {
			if err := setConsent(ctx, tx, p, true, false, now); err != nil {
				return err
			}
		}
		return nil
	})
}

func setConsent(ctx context.Context, tx *sql.Tx, purpose string, granted, erase bool, now time.Time) error {
	// A campaign consent is bound to the question pinned for the id
	// now (NULL if the device does not know it yet: bindConsents binds
	// it to the first config pinned).
	if _, err := tx.ExecContext(ctx, `INSERT INTO consent (purpose, granted, changed_at, digest) VALUES (?, ?, ?,
			CASE WHEN ? THEN (SELECT digest FROM campaigns WHERE 'campaign:' || id = ?) END)
		ON CONFLICT (purpose) DO UPDATE SET granted = excluded.granted, changed_at = excluded.changed_at, digest = excluded.digest`,
		purpose, granted, ms(now), granted, purpose); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO consent_history (purpose, granted, erased, at) VALUES (?, ?, ?, ?)`,
		purpose, granted, erase && !granted, ms(now)); err != nil {
		return err
	}
	if granted {
		return nil
	}
	kind, id, _ := strings.Cut(purpose, ":")
	switch kind {
	case "campaign":
		return dropQueued(ctx, tx, `campaign = ?`, now, DropConsentRevoked, id)
	case "plugin":
		if erase {
			return erasePlugin(ctx, tx, id, now)
		}
		return dropQueued(ctx, tx, `(category IN (SELECT category FROM plugin_categories WHERE plugin = ?) OR category = 0)`, now, DropConsentRevoked, id)
	}
	return nil
}

// Consents returns the current decision for every purpose ever decided.
func (s *Store) Consents(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.read("read_consent", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT purpose, granted FROM consent`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p string
			var g bool
			if err := rows.Scan(&p, &g); err != nil {
				return err
			}
			out[p] = g
		}
		return rows.Err()
	})
	return out, err
}

// CampaignConsents returns, for every granted campaign consent, the
// question digest it is bound to (nil: not bound yet), by campaign id.
func (s *Store) CampaignConsents(ctx context.Context) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.read("read_campaign_consent", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT substr(purpose, 10), digest FROM consent WHERE granted AND purpose LIKE 'campaign:%'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var d []byte
			if err := rows.Scan(&id, &d); err != nil {
				return err
			}
			out[id] = d
		}
		return rows.Err()
	})
	return out, err
}

// ConsentHistory returns every consent change, oldest first.
func (s *Store) ConsentHistory(ctx context.Context) ([]ConsentChange, error) {
	var out []ConsentChange
	err := s.read("read_consent_history", func(q sqlitedb.Querier) error {
		rows, err := q.QueryContext(ctx, `SELECT purpose, granted, erased, at FROM consent_history ORDER BY seq`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c ConsentChange
			var at int64
			if err := rows.Scan(&c.Purpose, &c.Granted, &c.Erased, &at); err != nil {
				return err
			}
			c.At = fromMS(at)
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// ForgetAll erases everything derived from the owner that this store
// holds: events, profile, queued reports, the record of answered campaigns
// and targeting impressions (the memoized answers are the ledger's:
// ledger.Erase). It keeps what protects or informs the owner: installed
// plugins, consent and its history, the privacy ledger (erasing it would
// reset the budget and let the device over-spend) and the log of what
// already left.
func (s *Store) ForgetAll(ctx context.Context, now time.Time) error {
	return s.tx(ctx, "forget_all", func(tx *sql.Tx) error {
		if err := dropQueued(ctx, tx, `1 = 1`, now, DropForgotten); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM events`, `DELETE FROM profile`, `DELETE FROM answers`, `DELETE FROM impressions`,
			`UPDATE plugins SET scored_seq = 0`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForgetPlugin erases one plugin's events, profile and the queued reports
// that may derive from them.
func (s *Store) ForgetPlugin(ctx context.Context, plugin string, now time.Time) error {
	return s.tx(ctx, "forget_plugin", func(tx *sql.Tx) error { return erasePlugin(ctx, tx, plugin, now) })
}
