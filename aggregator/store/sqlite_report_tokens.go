package store

import (
	"context"
	"database/sql"
	"time"
)

// ClaimReportTokens implements Store.
func (s *SQLite) ClaimReportTokens(ctx context.Context, claims []TokenClaim) ([]bool, error) {
	var held []bool
	err := s.tx(ctx, "claim_report_tokens", func(tx *sql.Tx) error {
		var err error
		held, err = claimAll(claims, func(c *TokenClaim) ([]byte, error) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO report_token_nonces (campaign, epoch, nonce, report) VALUES (?, ?, ?, ?)
				ON CONFLICT DO NOTHING`, c.Campaign, c.Epoch, c.Nonce, c.Report[:]); err != nil {
				return nil, err
			}
			var holder []byte
			err := tx.QueryRowContext(ctx, `SELECT report FROM report_token_nonces WHERE campaign = ? AND epoch = ? AND nonce = ?`,
				c.Campaign, c.Epoch, c.Nonce).Scan(&holder)
			return holder, err
		})
		return err
	})
	return held, err
}

// RecordIssuance implements Store.
func (s *SQLite) RecordIssuance(ctx context.Context, i Issuance) (Issuance, error) {
	got := Issuance{Device: i.Device, Campaign: i.Campaign, Epoch: i.Epoch}
	err := s.tx(ctx, "record_issuance", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_token_issuances (device, campaign, epoch, blinded, issued_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, i.Device, i.Campaign, i.Epoch, i.Blinded, i.IssuedAt.UnixNano()); err != nil {
			return err
		}
		var at int64
		if err := tx.QueryRowContext(ctx, `SELECT blinded, issued_at FROM report_token_issuances WHERE device = ? AND campaign = ? AND epoch = ?`,
			i.Device, i.Campaign, i.Epoch).Scan(&got.Blinded, &at); err != nil {
			return err
		}
		got.IssuedAt = time.Unix(0, at).UTC()
		return nil
	})
	return got, err
}
