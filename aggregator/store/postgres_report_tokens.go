package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ClaimReportTokens implements Store.
func (s *Postgres) ClaimReportTokens(ctx context.Context, claims []TokenClaim) ([]bool, error) {
	var held []bool
	err := s.tx(ctx, "claim_report_tokens", func(tx pgx.Tx) error {
		var err error
		held, err = claimAll(claims, func(c *TokenClaim) ([]byte, error) {
			if _, err := tx.Exec(ctx, `INSERT INTO report_token_nonces (campaign, epoch, nonce, report) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, c.Campaign, int64(c.Epoch), c.Nonce, c.Report[:]); err != nil {
				return nil, err
			}
			var holder []byte
			err := tx.QueryRow(ctx, `SELECT report FROM report_token_nonces WHERE campaign = $1 AND epoch = $2 AND nonce = $3`,
				c.Campaign, int64(c.Epoch), c.Nonce).Scan(&holder)
			return holder, err
		})
		return err
	})
	return held, err
}

// RecordIssuance implements Store.
func (s *Postgres) RecordIssuance(ctx context.Context, i Issuance) (Issuance, error) {
	got := Issuance{Device: i.Device, Campaign: i.Campaign, Epoch: i.Epoch}
	err := s.tx(ctx, "record_issuance", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO report_token_issuances (device, campaign, epoch, blinded, issued_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, i.Device, i.Campaign, int64(i.Epoch), i.Blinded, i.IssuedAt); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT blinded, issued_at FROM report_token_issuances WHERE device = $1 AND campaign = $2 AND epoch = $3`,
			i.Device, i.Campaign, int64(i.Epoch)).Scan(&got.Blinded, &got.IssuedAt); err != nil {
			return err
		}
		got.IssuedAt = got.IssuedAt.UTC()
		return nil
	})
	return got, err
}
